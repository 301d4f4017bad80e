# Serverless endpoint (no instances, no autoscaling) behind a public function URL whose handler
# checks a bearer token from SSM. Composes the modules directly instead of the root stack.
provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project = "expense"
      Example = "serverless"
    }
  }
}

module "ecr_image" {
  source = "../../modules/ecr_image"

  name = var.name
}

module "sagemaker_endpoint" {
  source = "../../modules/sagemaker_endpoint"

  name                = var.name
  image_uri           = "${module.ecr_image.repository_url}:${var.image_tag}"
  ecr_repository_arns = [module.ecr_image.repository_arn]

  serverless                 = true
  serverless_memory_mb       = 6144
  serverless_max_concurrency = 10
}

module "function_url" {
  source = "../../modules/function_url"

  name          = var.name
  lambda_zip    = var.lambda_zip
  endpoint_name = module.sagemaker_endpoint.endpoint_name
  endpoint_arn  = module.sagemaker_endpoint.endpoint_arn

  auth_mode          = "token"
  auth_token         = var.auth_token
  auth_token_version = var.auth_token_version

  # Serverless endpoints accept at most 4 MB per request.
  max_document_bytes = 4000000
}

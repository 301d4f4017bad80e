# No provider block here (terraform-aws-modules style): callers configure the AWS provider.
# expense-cli runs this folder as its root with cli/providers.tf copied in beside it.
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # An ECR image URI given explicitly: derive its repository's ARN so that the execution role may
  # pull exactly that repository. Images from other registries need no ECR permission.
  ecr_uri = var.image_uri == null ? null : regex(
    "^(?:(?P<account>[0-9]{12})\\.dkr\\.ecr\\.(?P<region>[a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/(?P<repository>[^:@]+))?",
    var.image_uri,
  )
  explicit_repository_arn = try(
    "arn:${data.aws_partition.current.partition}:ecr:${local.ecr_uri.region}:${local.ecr_uri.account}:repository/${local.ecr_uri.repository}",
    null,
  )

  image_uri = coalesce(var.image_uri, try("${module.ecr_image[0].repository_url}:${var.image_tag}", null))
  ecr_repository_arns = var.image_uri == null ? [module.ecr_image[0].repository_arn] : compact([
    local.explicit_repository_arn,
  ])
}

module "ecr_image" {
  source = "./modules/ecr_image"
  count  = var.create_repository ? 1 : 0

  name           = var.name
  force_delete   = var.force_delete_repository
  immutable_tags = var.immutable_tags
  kms_key_arn    = var.ecr_kms_key_arn
  tags           = var.tags
}

module "sagemaker_endpoint" {
  source = "./modules/sagemaker_endpoint"

  name                = var.name
  image_uri           = local.image_uri
  ecr_repository_arns = local.ecr_repository_arns
  environment         = var.model_env

  serverless                 = var.serverless
  serverless_memory_mb       = var.serverless_memory_mb
  serverless_max_concurrency = var.serverless_max_concurrency

  instance_type                   = var.instance_type
  min_capacity                    = var.min_instances
  max_capacity                    = var.max_instances
  target_invocations_per_instance = var.target_invocations_per_instance
  scale_in_cooldown               = var.scale_in_cooldown
  scale_out_cooldown              = var.scale_out_cooldown

  kms_key_arn             = var.endpoint_kms_key_arn
  log_retention_days      = var.log_retention_days
  log_kms_key_arn         = var.log_kms_key_arn
  trust_source_conditions = var.trust_source_conditions
  tags                    = var.tags
}

module "function_url" {
  source = "./modules/function_url"

  name          = var.name
  lambda_zip    = var.lambda_zip
  endpoint_name = module.sagemaker_endpoint.endpoint_name
  endpoint_arn  = module.sagemaker_endpoint.endpoint_arn

  auth_mode          = var.auth
  auth_token         = var.auth_token
  auth_token_version = var.auth_token_version
  token_kms_key_arn  = var.token_kms_key_arn

  reserved_concurrency = var.reserved_concurrency
  timeout              = var.lambda_timeout
  memory_size          = var.lambda_memory_mb
  cors_allow_origins   = var.cors_allow_origins
  log_retention_days   = var.log_retention_days
  log_kms_key_arn      = var.log_kms_key_arn

  trust_source_conditions = var.trust_source_conditions
  tags                    = var.tags

  max_body_bytes = 6000000
  # base64 adds a third: these documents fit the endpoint's payload limit (6 MB; serverless 4 MB)
  max_document_bytes = var.serverless ? 2900000 : 4400000
  max_payload_bytes  = var.serverless ? 4000000 : 6000000
  fetch_timeout_s    = 10
  allow_http_urls    = false
  log_level          = "INFO"
}

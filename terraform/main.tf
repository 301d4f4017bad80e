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

  # Async mode: documents up to async_max_document_mb and async_max_pages, each given up to
  # async_invocation_timeout_s (expense_cli/engine/_config.py, expense_cli/serving/_settings.py).
  # var.model_env wins over these.
  async_env = var.async_inference ? {
    EXPENSE_MAX_BYTES          = tostring(var.async_max_document_mb * 1000000)
    EXPENSE_MAX_BODY_BYTES     = tostring(ceil(var.async_max_document_mb * 1000000 * 4 / 3) + 65536)
    EXPENSE_MAX_PAGES          = tostring(var.async_max_pages)
    EXPENSE_MAX_TOTAL_PIXELS   = tostring(var.async_max_pages * 10000000)
    EXPENSE_MAX_DOCUMENT_CHARS = tostring(var.async_max_pages * 20000)
    EXPENSE_REQUEST_TIMEOUT    = tostring(var.async_invocation_timeout_s)
    EXPENSE_BODY_TIMEOUT       = "300"
  } : {}

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
  environment         = merge(local.async_env, var.model_env)

  serverless                 = var.serverless
  serverless_memory_mb       = var.serverless_memory_mb
  serverless_max_concurrency = var.serverless_max_concurrency

  async_inference                  = var.async_inference
  async_bucket_name                = var.async_bucket_name
  async_s3_kms_key_arn             = var.async_s3_kms_key_arn
  async_expire_days                = var.async_expire_days
  async_max_concurrent_invocations = var.async_max_concurrent_invocations
  async_backlog_per_instance       = var.async_backlog_per_instance
  async_success_topic_arn          = var.async_success_topic_arn
  async_error_topic_arn            = var.async_error_topic_arn

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

# An asynchronous endpoint takes its requests from S3 (expense-cli report --async), not through
# InvokeEndpoint: no function URL in that mode.
module "function_url" {
  source = "./modules/function_url"
  count  = var.async_inference ? 0 : 1

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

moved {
  from = module.function_url
  to   = module.function_url[0]
}

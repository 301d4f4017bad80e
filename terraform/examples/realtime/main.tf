# Real-time endpoint that autoscales on invocations per instance, behind an AWS_IAM function URL.
# This is the root stack used as a module, with a larger instance range than the defaults.
provider "aws" {
  region = var.region
}

module "expense" {
  source = "../.."

  name       = var.name
  lambda_zip = var.lambda_zip

  instance_type                   = "ml.m5.xlarge"
  min_instances                   = 1
  max_instances                   = 8
  target_invocations_per_instance = 300
  scale_in_cooldown               = 300
  scale_out_cooldown              = 300

  auth               = "iam"
  cors_allow_origins = var.cors_allow_origins

  # Security options: customer-managed keys (null: AWS-managed encryption), immutable tags.
  immutable_tags       = var.immutable_tags
  endpoint_kms_key_arn = var.kms_key_arn
  log_kms_key_arn      = var.kms_key_arn

  tags = {
    Project = "expense"
    Example = "realtime"
  }
}

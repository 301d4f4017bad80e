# Real-time endpoint that autoscales on invocations per instance, behind an AWS_IAM function URL.
# This is the root stack used as a module, with a larger instance range than the defaults.
module "expense" {
  source = "../.."

  name       = var.name
  region     = var.region
  lambda_zip = var.lambda_zip

  instance_type                   = "ml.m5.xlarge"
  min_instances                   = 1
  max_instances                   = 8
  target_invocations_per_instance = 300
  scale_in_cooldown               = 300
  scale_out_cooldown              = 300

  auth               = "iam"
  cors_allow_origins = var.cors_allow_origins

  tags = {
    Project = "expense"
    Example = "realtime"
  }
}

# Plan-only: no AWS account, no credentials. Computed attributes get mock values during plan
# (override_during), with fixed ARNs/URLs where the configuration validates or asserts on them.
mock_provider "aws" {
  override_during = plan

  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
}


override_resource {
  target          = module.ecr_image[0].aws_ecr_repository.this
  override_during = plan
  values = {
    name           = "expense"
    arn            = "arn:aws:ecr:us-east-1:123456789012:repository/expense"
    repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/expense"
  }
}

override_resource {
  target          = module.sagemaker_endpoint.aws_sagemaker_endpoint.this
  override_during = plan
  values = {
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/expense"
  }
}

override_resource {
  target          = module.function_url.aws_cloudwatch_log_group.this
  override_during = plan
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/expense"
  }
}

override_resource {
  target          = module.sagemaker_endpoint.aws_cloudwatch_log_group.this
  override_during = plan
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/expense"
  }
}

variables {
  lambda_zip = "tests/fixtures/handler.zip"
}

# The security options of the root stack reach the resources (through the modules' outputs).

run "security_defaults" {
  command = plan

  assert {
    condition     = module.ecr_image[0].image_tag_mutability == "MUTABLE" && module.ecr_image[0].encryption_type == "AES256"
    error_message = "Defaults: mutable tags, AES256 images."
  }
  assert {
    condition     = module.sagemaker_endpoint.kms_key_arn == null && module.sagemaker_endpoint.log_kms_key_arn == null && module.function_url.log_kms_key_arn == null
    error_message = "Defaults: AWS-managed keys for the endpoint volume and both log groups."
  }
  assert {
    condition     = jsondecode(module.function_url.trust_policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    error_message = "The Lambda role trusts Lambda only for this account by default."
  }
  assert {
    condition     = jsondecode(module.sagemaker_endpoint.trust_policy).Statement[0].Condition.ArnLike["aws:SourceArn"] == "arn:aws:sagemaker:us-east-1:123456789012:*"
    error_message = "The SageMaker role trusts SageMaker only for this account and region by default."
  }
  assert {
    condition     = output.region == "us-east-1"
    error_message = "The region output is the provider's region."
  }
}

run "customer_keys_and_immutable_tags" {
  command = plan

  variables {
    auth                 = "token"
    auth_token           = "0123456789abcdef0123456789abcdef"
    immutable_tags       = true
    ecr_kms_key_arn      = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000e"
    endpoint_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    log_kms_key_arn      = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000b"
    token_kms_key_arn    = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000c"
    region               = "us-east-1"
  }

  assert {
    condition     = module.ecr_image[0].image_tag_mutability == "IMMUTABLE" && module.ecr_image[0].encryption_type == "KMS"
    error_message = "immutable_tags and ecr_kms_key_arn must reach the repository."
  }
  assert {
    condition     = module.sagemaker_endpoint.kms_key_arn == var.endpoint_kms_key_arn
    error_message = "endpoint_kms_key_arn must reach the endpoint config's volume key."
  }
  assert {
    condition     = module.sagemaker_endpoint.log_kms_key_arn == var.log_kms_key_arn && module.function_url.log_kms_key_arn == var.log_kms_key_arn
    error_message = "log_kms_key_arn must reach both log groups."
  }
  assert {
    condition = [
      for s in jsondecode(module.function_url.policy).Statement : s.Resource if s.Action == "kms:Decrypt"
    ] == [var.token_kms_key_arn]
    error_message = "token_kms_key_arn must reach the token parameter (the role may decrypt with that key only)."
  }
}

run "endpoint_key_with_serverless_ignores_instance_type" {
  command = plan

  variables {
    serverless           = true
    instance_type        = "ml.g5.xlarge"
    endpoint_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/expense"
  }

  assert {
    condition     = module.sagemaker_endpoint.kms_key_arn == "arn:aws:kms:us-east-1:123456789012:alias/expense"
    error_message = "A serverless endpoint has no instance type to conflict with the key."
  }
}

run "trust_conditions_off" {
  command = plan

  variables {
    trust_source_conditions = false
  }

  assert {
    condition     = !can(jsondecode(module.function_url.trust_policy).Statement[0].Condition) && !can(jsondecode(module.sagemaker_endpoint.trust_policy).Statement[0].Condition)
    error_message = "trust_source_conditions = false must reach both roles."
  }
}

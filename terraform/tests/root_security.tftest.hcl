# Plan-only: no AWS account, no credentials. The mocked provider's values (data sources, fixed
# ARNs/URLs) are shared by the root tests: tests/mocks/aws.tfmock.hcl.
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
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
    condition     = module.sagemaker_endpoint.kms_key_arn == null && module.sagemaker_endpoint.log_kms_key_arn == null && module.function_url[0].log_kms_key_arn == null
    error_message = "Defaults: AWS-managed keys for the endpoint volume and both log groups."
  }
  assert {
    condition     = jsondecode(module.function_url[0].trust_policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
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
    condition     = module.sagemaker_endpoint.log_kms_key_arn == var.log_kms_key_arn && module.function_url[0].log_kms_key_arn == var.log_kms_key_arn
    error_message = "log_kms_key_arn must reach both log groups."
  }
  assert {
    condition = [
      for s in jsondecode(module.function_url[0].policy).Statement : s.Resource if s.Action == "kms:Decrypt"
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
    condition     = !can(jsondecode(module.function_url[0].trust_policy).Statement[0].Condition) && !can(jsondecode(module.sagemaker_endpoint.trust_policy).Statement[0].Condition)
    error_message = "trust_source_conditions = false must reach both roles."
  }
}

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

run "serverless_has_no_autoscaling" {
  command = plan

  variables {
    serverless                 = true
    serverless_memory_mb       = 6144
    serverless_max_concurrency = 20
  }

  assert {
    condition     = output.autoscaling == null
    error_message = "A serverless endpoint must not report autoscaling."
  }
  assert {
    condition     = length(module.sagemaker_endpoint.production_variant.serverless_config) == 1
    error_message = "A serverless endpoint must have a serverless config."
  }
  assert {
    condition     = module.sagemaker_endpoint.production_variant.serverless_config[0].memory_size_in_mb == 6144 && module.sagemaker_endpoint.production_variant.serverless_config[0].max_concurrency == 20
    error_message = "Serverless memory and max concurrency must come from the variables."
  }
  assert {
    condition     = module.sagemaker_endpoint.production_variant.instance_type == null && module.sagemaker_endpoint.production_variant.initial_instance_count == null
    error_message = "A serverless variant has no instance type or count."
  }
  assert {
    condition     = module.function_url.environment["MAX_DOCUMENT_BYTES"] == "2900000" && module.function_url.environment["MAX_PAYLOAD_BYTES"] == "4000000"
    error_message = "Serverless endpoints take at most 4 MB of payload: 2.9 MB of document once base64-encoded."
  }
}

run "serverless_defaults" {
  command = plan

  variables {
    serverless = true
  }

  assert {
    condition     = module.sagemaker_endpoint.production_variant.serverless_config[0].memory_size_in_mb == 4096 && module.sagemaker_endpoint.production_variant.serverless_config[0].max_concurrency == 5
    error_message = "Serverless defaults are 4096 MB and max concurrency 5."
  }
}

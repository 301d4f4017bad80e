# Plan-only: no AWS account, no credentials. The mocked provider's values (data sources, fixed
# ARNs/URLs) are shared by the root tests: tests/mocks/aws.tfmock.hcl.
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
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
    condition     = module.function_url[0].environment["MAX_DOCUMENT_BYTES"] == "2900000" && module.function_url[0].environment["MAX_PAYLOAD_BYTES"] == "4000000"
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

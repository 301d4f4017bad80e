# Mock values of the AWS provider for the plan-only tests of the root stack (tests/root_*.tftest.hcl,
# `mock_provider "aws" { source = "./tests/mocks" }`): data sources, and the computed ARNs and URLs
# the configuration validates or the tests assert on.
mock_data "aws_partition" {
  defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
}

mock_data "aws_caller_identity" {
  defaults = { account_id = "123456789012" }
}

mock_data "aws_region" {
  defaults = { name = "us-east-1" }
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
  target          = module.function_url[0].aws_cloudwatch_log_group.this
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

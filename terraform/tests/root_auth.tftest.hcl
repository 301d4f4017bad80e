# Plan-only: no AWS account, no credentials. The mocked provider's values (data sources, fixed
# ARNs/URLs) are shared by the root tests: tests/mocks/aws.tfmock.hcl.
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  lambda_zip = "tests/fixtures/handler.zip"
}

run "iam_mode" {
  command = plan

  assert {
    condition     = module.function_url[0].authorization_type == "AWS_IAM"
    error_message = "iam mode must use an AWS_IAM function URL."
  }
  assert {
    condition     = output.token_parameter_name == null
    error_message = "iam mode has no token parameter."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(module.function_url[0].policy).Statement :
      !anytrue([for a in flatten([s.Action]) : startswith(a, "ssm:") || startswith(a, "kms:")])
    ])
    error_message = "iam mode must not grant any SSM or KMS permission."
  }
  assert {
    condition = [
      for s in jsondecode(module.function_url[0].policy).Statement : s.Resource
      if contains(flatten([s.Action]), "sagemaker:InvokeEndpoint")
    ] == ["arn:aws:sagemaker:us-east-1:123456789012:endpoint/expense"]
    error_message = "Exactly one statement may invoke, and only the stack's endpoint."
  }
  assert {
    condition = toset(flatten([
      for s in jsondecode(module.function_url[0].policy).Statement : flatten([s.Action])
    ])) == toset(["sagemaker:InvokeEndpoint", "logs:CreateLogStream", "logs:PutLogEvents"])
    error_message = "The function may only invoke the endpoint and write its logs."
  }
  assert {
    condition = [
      for s in jsondecode(module.function_url[0].policy).Statement : s.Resource
      if contains(flatten([s.Action]), "logs:PutLogEvents")
    ] == ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/expense:*"]
    error_message = "The function may only write to its own log group."
  }
}

run "token_mode" {
  command = plan

  variables {
    auth       = "token"
    auth_token = "0123456789abcdef0123456789abcdef"
  }

  assert {
    condition     = module.function_url[0].authorization_type == "NONE"
    error_message = "token mode must use a NONE function URL (the handler checks the token)."
  }
  assert {
    condition     = output.token_parameter_name == "/expense/auth-token"
    error_message = "The token parameter must be /NAME/auth-token."
  }
  assert {
    condition     = module.function_url[0].environment["AUTH_MODE"] == "token" && module.function_url[0].environment["TOKEN_PARAMETER"] == "/expense/auth-token"
    error_message = "The handler must be told the mode and the parameter name."
  }
  assert {
    condition = [
      for s in jsondecode(module.function_url[0].policy).Statement : s.Resource
      if contains(flatten([s.Action]), "ssm:GetParameter")
    ] == ["arn:aws:ssm:us-east-1:123456789012:parameter/expense/auth-token"]
    error_message = "token mode must grant ssm:GetParameter on exactly the token parameter."
  }
  assert {
    condition = toset(flatten([
      for s in jsondecode(module.function_url[0].policy).Statement : flatten([s.Action])
    ])) == toset(["sagemaker:InvokeEndpoint", "logs:CreateLogStream", "logs:PutLogEvents", "ssm:GetParameter"])
    error_message = "token mode adds only ssm:GetParameter (the AWS-managed aws/ssm key needs no kms grant)."
  }
}

run "token_mode_with_other_name" {
  command = plan

  variables {
    name       = "team-receipts"
    auth       = "token"
    auth_token = "0123456789abcdef0123456789abcdef"
  }

  assert {
    condition     = output.token_parameter_name == "/team-receipts/auth-token"
    error_message = "The token parameter name must follow var.name."
  }
  assert {
    condition = [
      for s in jsondecode(module.function_url[0].policy).Statement : s.Resource
      if contains(flatten([s.Action]), "ssm:GetParameter")
    ] == ["arn:aws:ssm:us-east-1:123456789012:parameter/team-receipts/auth-token"]
    error_message = "ssm:GetParameter must be scoped to the parameter of this stack."
  }
}

run "cors" {
  command = plan

  variables {
    cors_allow_origins = ["https://app.example.com"]
  }

  assert {
    condition     = module.function_url[0].cors[0].allow_origins == toset(["https://app.example.com"]) && module.function_url[0].cors[0].allow_methods == toset(["POST"])
    error_message = "CORS must allow the given origins and POST."
  }
}

run "no_cors_by_default" {
  command = plan

  assert {
    condition     = length(module.function_url[0].cors) == 0
    error_message = "Without origins there is no CORS configuration."
  }
}

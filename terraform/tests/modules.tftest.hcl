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


# Runs whose subject is a single module (module { source = ... }), asserting on its resources.

run "ecr_image_defaults" {
  command = plan
  module {
    source = "./modules/ecr_image"
  }
  variables {
    name = "expense"
  }

  assert {
    condition     = aws_ecr_repository.this.image_scanning_configuration[0].scan_on_push
    error_message = "Images must be scanned on push."
  }
  assert {
    condition     = aws_ecr_repository.this.image_tag_mutability == "MUTABLE"
    error_message = "Tags are mutable unless immutable_tags is set."
  }
  assert {
    condition     = [for r in jsondecode(aws_ecr_lifecycle_policy.this.policy).rules : r.selection.countNumber] == [7, 10]
    error_message = "Lifecycle: expire untagged after 7 days, keep 10 images."
  }
}

run "ecr_image_immutable" {
  command = plan
  module {
    source = "./modules/ecr_image"
  }
  variables {
    name           = "expense"
    immutable_tags = true
  }

  assert {
    condition     = aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE"
    error_message = "immutable_tags = true must make tags immutable."
  }
}

run "sagemaker_realtime" {
  command = plan
  override_resource {
    target          = aws_cloudwatch_log_group.this
    override_during = plan
    values          = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/expense" }
  }
  module {
    source = "./modules/sagemaker_endpoint"
  }
  variables {
    name                = "expense"
    image_uri           = "123456789012.dkr.ecr.us-east-1.amazonaws.com/expense:latest"
    ecr_repository_arns = ["arn:aws:ecr:us-east-1:123456789012:repository/expense"]
    environment         = { EXTRA = "1" }
  }

  assert {
    condition     = aws_sagemaker_model.this.enable_network_isolation && aws_sagemaker_model.this.primary_container[0].environment == tomap({ EXTRA = "1" })
    error_message = "The model runs network-isolated with the given environment."
  }
  assert {
    condition     = aws_sagemaker_model.this.primary_container[0].image == var.image_uri
    error_message = "The model runs the given image."
  }
  assert {
    condition     = aws_appautoscaling_target.this[0].resource_id == "endpoint/expense/variant/AllTraffic" && aws_appautoscaling_target.this[0].scalable_dimension == "sagemaker:variant:DesiredInstanceCount"
    error_message = "The scaling target must be the endpoint's AllTraffic variant instance count."
  }
  assert {
    condition     = aws_appautoscaling_policy.this[0].policy_type == "TargetTrackingScaling" && aws_appautoscaling_policy.this[0].target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "SageMakerVariantInvocationsPerInstance"
    error_message = "The policy must target-track SageMakerVariantInvocationsPerInstance."
  }
  assert {
    condition     = aws_appautoscaling_policy.this[0].target_tracking_scaling_policy_configuration[0].target_value == 300 && aws_appautoscaling_policy.this[0].target_tracking_scaling_policy_configuration[0].scale_in_cooldown == 300 && aws_appautoscaling_policy.this[0].target_tracking_scaling_policy_configuration[0].scale_out_cooldown == 300
    error_message = "Module defaults must be target 300 with 300 s cooldowns."
  }
  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : flatten([s.Action])
      ])) == toset([
      "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:GetAuthorizationToken",
      "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents", "cloudwatch:PutMetricData",
    ])
    error_message = "The execution role may only pull its image, write its logs and publish endpoint metrics."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.execution.policy).Statement :
      s.Resource != "*" || contains([["ecr:GetAuthorizationToken"], ["cloudwatch:PutMetricData"]], s.Action)
    ])
    error_message = "Only actions that cannot be scoped may use Resource \"*\"."
  }
  assert {
    condition = jsondecode(aws_iam_role.execution.assume_role_policy).Statement[0].Condition == {
      StringEquals = { "aws:SourceAccount" = "123456789012" }
      ArnLike      = { "aws:SourceArn" = "arn:aws:sagemaker:us-east-1:123456789012:*" }
    }
    error_message = "SageMaker may assume the execution role only on behalf of this account, in this region."
  }
  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.kms_key_arn == null && aws_cloudwatch_log_group.this.kms_key_id == null
    error_message = "Without keys: AWS-managed volume and log encryption."
  }
}

run "sagemaker_serverless" {
  command = plan
  override_resource {
    target          = aws_cloudwatch_log_group.this
    override_during = plan
    values          = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/expense" }
  }
  module {
    source = "./modules/sagemaker_endpoint"
  }
  variables {
    name       = "expense"
    image_uri  = "ghcr.io/example/expense:1.0.0"
    serverless = true
  }

  assert {
    condition     = length(aws_appautoscaling_target.this) == 0 && length(aws_appautoscaling_policy.this) == 0
    error_message = "A serverless endpoint has no scaling target or policy."
  }
  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.production_variants[0].serverless_config[0].memory_size_in_mb == 4096 && aws_sagemaker_endpoint_configuration.this.production_variants[0].serverless_config[0].max_concurrency == 5
    error_message = "Serverless config must use the memory and concurrency variables."
  }
  assert {
    condition     = !anytrue([for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : startswith(s.Sid, "Pull") || s.Sid == "EcrLogin"])
    error_message = "Without ECR repositories the role gets no ECR permission."
  }
  assert {
    condition     = aws_sagemaker_model.this.enable_network_isolation == false
    error_message = "Serverless endpoints do not support network isolation: the model must not ask for it."
  }
}

run "function_url_iam" {
  command = plan
  module {
    source = "./modules/function_url"
  }
  variables {
    name          = "expense"
    lambda_zip    = "tests/fixtures/handler.zip"
    endpoint_name = "expense"
    endpoint_arn  = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/expense"
  }

  assert {
    condition     = aws_lambda_function_url.this.authorization_type == "AWS_IAM" && length(aws_ssm_parameter.token) == 0
    error_message = "iam mode: AWS_IAM URL, no token parameter."
  }
  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == 10 && aws_lambda_function.this.runtime == "python3.12" && aws_lambda_function.this.handler == "app.lambda_handler"
    error_message = "Defaults: reserved concurrency 10, python3.12, app.lambda_handler."
  }
  assert {
    condition     = aws_lambda_function.this.source_code_hash == filebase64sha256("tests/fixtures/handler.zip")
    error_message = "The code hash must be the zip's SHA-256 so a rebuilt zip redeploys."
  }
  assert {
    condition     = aws_lambda_function.this.timeout == 60 && aws_lambda_function.this.memory_size == 512 && aws_cloudwatch_log_group.this.retention_in_days == 30
    error_message = "Defaults: 60 s timeout, 512 MB, 30 days of logs."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/expense" && aws_lambda_function.this.logging_config[0].log_group == "/aws/lambda/expense"
    error_message = "The function logs to its own log group."
  }
}

run "function_url_token" {
  command = plan
  module {
    source = "./modules/function_url"
  }
  variables {
    name          = "expense"
    lambda_zip    = "tests/fixtures/handler.zip"
    endpoint_name = "expense"
    endpoint_arn  = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/expense"
    auth_mode     = "token"
    auth_token    = "0123456789abcdef0123456789abcdef"
  }

  assert {
    condition     = aws_lambda_function_url.this.authorization_type == "NONE"
    error_message = "token mode: NONE URL."
  }
  assert {
    condition     = aws_ssm_parameter.token[0].type == "SecureString" && aws_ssm_parameter.token[0].name == "/expense/auth-token"
    error_message = "The token is a SecureString at /NAME/auth-token."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["TOKEN_PARAMETER"] == "/expense/auth-token"
    error_message = "The handler is told where the token is."
  }
  assert {
    condition     = aws_ssm_parameter.token[0].value_wo_version == 1 && aws_ssm_parameter.token[0].value_wo == null
    error_message = "The token goes through the write-only value_wo (never planned or stored), version 1 by default."
  }
}

run "function_url_token_rotation" {
  command = plan
  module {
    source = "./modules/function_url"
  }
  variables {
    name               = "expense"
    lambda_zip         = "tests/fixtures/handler.zip"
    endpoint_name      = "expense"
    endpoint_arn       = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/expense"
    auth_mode          = "token"
    auth_token         = "fedcba9876543210fedcba9876543210"
    auth_token_version = 7
  }

  assert {
    condition     = aws_ssm_parameter.token[0].value_wo_version == 7
    error_message = "auth_token_version must reach value_wo_version: it is what makes a new token get written."
  }
}

run "function_url_trust_conditions" {
  command = plan
  module {
    source = "./modules/function_url"
  }
  variables {
    name          = "expense"
    lambda_zip    = "tests/fixtures/handler.zip"
    endpoint_name = "expense"
    endpoint_arn  = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/expense"
  }

  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition == {
      StringEquals = { "aws:SourceAccount" = "123456789012" }
      ArnLike = { "aws:SourceArn" = [
        "arn:aws:lambda:us-east-1:123456789012:function:expense",
        "arn:aws:lambda:us-east-1:123456789012:function:expense:*",
      ] }
    }
    error_message = "Lambda may assume the role only for this account's function of this name."
  }
  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Principal == { Service = "lambda.amazonaws.com" }
    error_message = "The trusted principal is the Lambda service."
  }
}

run "function_url_trust_conditions_off" {
  command = plan
  module {
    source = "./modules/function_url"
  }
  variables {
    name                    = "expense"
    lambda_zip              = "tests/fixtures/handler.zip"
    endpoint_name           = "expense"
    endpoint_arn            = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/expense"
    trust_source_conditions = false
  }

  assert {
    condition     = !can(jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition)
    error_message = "trust_source_conditions = false leaves the service principal alone."
  }
}

run "function_url_token_with_customer_key" {
  command = plan
  override_resource {
    target          = aws_cloudwatch_log_group.this
    override_during = plan
    values          = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/expense" }
  }
  module {
    source = "./modules/function_url"
  }
  variables {
    name              = "expense"
    lambda_zip        = "tests/fixtures/handler.zip"
    endpoint_name     = "expense"
    endpoint_arn      = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/expense"
    auth_mode         = "token"
    auth_token        = "0123456789abcdef0123456789abcdef"
    token_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition.StringEquals["kms:ViaService"]
      if s.Action == "kms:Decrypt" && s.Resource == var.token_kms_key_arn
    ] == ["ssm.us-east-1.amazonaws.com"]
    error_message = "A customer key is granted for kms:Decrypt only via SSM."
  }
}

# Names at each module's length limit still fit AWS's: IAM role names (64), Lambda function
# names (64), SageMaker model and endpoint configuration names (63).

run "function_url_longest_name_fits_aws_limits" {
  command = plan
  module {
    source = "./modules/function_url"
  }
  variables {
    name          = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    lambda_zip    = "tests/fixtures/handler.zip"
    endpoint_name = "expense"
    endpoint_arn  = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/expense"
  }

  assert {
    condition     = length(aws_iam_role.this.name) <= 64 && length(aws_iam_role_policy.this.name) <= 128 && length(aws_lambda_function.this.function_name) <= 64
    error_message = "At the name's limit the role (64) and function (64) names must still fit."
  }
}

run "function_url_name_too_long_for_its_role" {
  command = plan
  module {
    source = "./modules/function_url"
  }
  variables {
    name          = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    lambda_zip    = "tests/fixtures/handler.zip"
    endpoint_name = "expense"
    endpoint_arn  = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/expense"
  }
  expect_failures = [var.name]
}

run "sagemaker_longest_name_fits_aws_limits" {
  command = plan
  module {
    source = "./modules/sagemaker_endpoint"
  }
  variables {
    name                = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    image_uri           = "123456789012.dkr.ecr.us-east-1.amazonaws.com/expense:latest"
    ecr_repository_arns = ["arn:aws:ecr:us-east-1:123456789012:repository/expense"]
  }

  assert {
    condition     = length(aws_iam_role.execution.name) <= 64 && length(aws_sagemaker_model.this.name) <= 63 && length(aws_sagemaker_endpoint_configuration.this.name) <= 63
    error_message = "At the name's limit the role (64), model (63) and endpoint configuration (63) names must still fit."
  }
}

# Tags and container environment within AWS's limits: each module checks its own inputs.

run "ecr_image_tag_key_reserved_by_aws" {
  command = plan
  module {
    source = "./modules/ecr_image"
  }
  variables {
    name = "expense"
    tags = { "aws:owner" = "x" }
  }
  expect_failures = [var.tags]
}

run "function_url_tag_key_too_long" {
  command = plan
  module {
    source = "./modules/function_url"
  }
  variables {
    name          = "expense"
    lambda_zip    = "tests/fixtures/handler.zip"
    endpoint_name = "expense"
    endpoint_arn  = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/expense"
    tags          = { (format("%129s", "k")) = "v" }
  }
  expect_failures = [var.tags]
}

run "sagemaker_empty_tag_key" {
  command = plan
  module {
    source = "./modules/sagemaker_endpoint"
  }
  variables {
    name                = "expense"
    image_uri           = "123456789012.dkr.ecr.us-east-1.amazonaws.com/expense:latest"
    ecr_repository_arns = ["arn:aws:ecr:us-east-1:123456789012:repository/expense"]
    tags                = { "" = "v" }
  }
  expect_failures = [var.tags]
}

run "sagemaker_more_than_100_environment_variables" {
  command = plan
  module {
    source = "./modules/sagemaker_endpoint"
  }
  variables {
    name                = "expense"
    image_uri           = "123456789012.dkr.ecr.us-east-1.amazonaws.com/expense:latest"
    ecr_repository_arns = ["arn:aws:ecr:us-east-1:123456789012:repository/expense"]
    environment         = { for i in range(101) : "V${i}" => "1" }
  }
  expect_failures = [var.environment]
}

run "sagemaker_environment_name_with_a_dot" {
  command = plan
  module {
    source = "./modules/sagemaker_endpoint"
  }
  variables {
    name                = "expense"
    image_uri           = "123456789012.dkr.ecr.us-east-1.amazonaws.com/expense:latest"
    ecr_repository_arns = ["arn:aws:ecr:us-east-1:123456789012:repository/expense"]
    environment         = { "EXPENSE.MAX" = "1" }
  }
  expect_failures = [var.environment]
}

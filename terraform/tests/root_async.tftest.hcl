# Plan-only tests of async mode (async_inference = true): the root stack, then the endpoint module
# alone (its bucket, endpoint config and scaling resources). Mocks: tests/mocks/aws.tfmock.hcl.
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  lambda_zip = "tests/fixtures/handler.zip"
}

run "async_stack" {
  command = plan

  variables {
    async_inference       = true
    max_instances         = 3
    async_max_document_mb = 150
    async_max_pages       = 300
  }

  assert {
    condition     = length(module.function_url) == 0 && output.function_url == null
    error_message = "An async stack has no function URL (InvokeEndpoint does not serve async endpoints)."
  }
  assert {
    condition     = output.autoscaling.min == 0 && output.autoscaling.max == 3
    error_message = "An async endpoint scales from 0 to max_instances."
  }
  assert {
    condition     = output.autoscaling.metric == "ApproximateBacklogSizePerInstance" && output.autoscaling.target == 5
    error_message = "Async autoscaling tracks the backlog per instance (target 5 by default)."
  }
  assert {
    condition     = module.sagemaker_endpoint.production_variant.initial_instance_count == 1
    error_message = "SageMaker needs one instance to create the endpoint; autoscaling may then go to 0."
  }
}

run "async_env_for_long_documents" {
  command = plan

  variables {
    async_inference            = true
    async_bucket_name          = "my-docs"
    async_max_document_mb      = 150
    async_max_pages            = 300
    async_invocation_timeout_s = 1800
    model_env                  = { EXPENSE_PDF_DPI = "150", EXPENSE_MAX_PAGES = "250" }
  }

  assert {
    condition     = output.async_input_path == "s3://my-docs/inputs"
    error_message = "The CLI uploads to the inputs prefix of the bucket."
  }
  assert {
    condition     = module.sagemaker_endpoint.environment["EXPENSE_MAX_BYTES"] == "150000000" && module.sagemaker_endpoint.environment["EXPENSE_REQUEST_TIMEOUT"] == "1800"
    error_message = "The container gets the async document size and time limits."
  }
  assert {
    condition     = module.sagemaker_endpoint.environment["EXPENSE_MAX_BODY_BYTES"] == "200065536" && module.sagemaker_endpoint.environment["EXPENSE_MAX_TOTAL_PIXELS"] == "3000000000"
    error_message = "The body cap and the pixel budget grow with the document limits."
  }
  assert {
    condition     = module.sagemaker_endpoint.environment["EXPENSE_MAX_PAGES"] == "250" && module.sagemaker_endpoint.environment["EXPENSE_PDF_DPI"] == "150"
    error_message = "model_env wins over the async defaults."
  }
}

run "realtime_env_is_model_env" {
  command = plan

  variables {
    model_env = { EXPENSE_PDF_DPI = "150" }
  }

  assert {
    condition     = module.sagemaker_endpoint.environment["EXPENSE_PDF_DPI"] == "150" && length(module.sagemaker_endpoint.environment) == 1
    error_message = "Without async mode the container gets model_env only."
  }
  assert {
    condition     = output.async_input_path == null && output.async_inference == null && length(module.function_url) == 1
    error_message = "A real-time stack has no async paths and one function URL."
  }
}

run "async_and_serverless_conflict" {
  command = plan

  variables {
    async_inference = true
    serverless      = true
  }

  expect_failures = [var.async_inference]
}

run "async_module" {
  command = plan
  module {
    source = "./modules/sagemaker_endpoint"
  }
  override_resource {
    target          = aws_cloudwatch_log_group.this
    override_during = plan
    values          = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/expense" }
  }
  override_resource {
    target          = aws_s3_bucket.async
    override_during = plan
    values          = { id = "expense-async-abc", arn = "arn:aws:s3:::expense-async-abc" }
  }
  variables {
    name                       = "expense"
    image_uri                  = "123456789012.dkr.ecr.us-east-1.amazonaws.com/expense:1"
    async_inference            = true
    async_error_topic_arn      = "arn:aws:sns:us-east-1:123456789012:expense-errors"
    async_expire_days          = 7
    scale_out_cooldown         = 120
    async_backlog_per_instance = 2
    environment                = { EXPENSE_MAX_PAGES = "300" }
  }

  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.async_inference_config[0].client_config[0].max_concurrent_invocations_per_instance == 4
    error_message = "Async endpoint config: 4 concurrent invocations per instance by default."
  }
  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.async_inference_config[0].output_config[0].notification_config[0].error_topic == "arn:aws:sns:us-east-1:123456789012:expense-errors"
    error_message = "The error topic goes into the notification config."
  }
  assert {
    condition     = aws_appautoscaling_target.this[0].min_capacity == 0
    error_message = "Async: the scalable target's minimum is 0."
  }
  assert {
    condition     = aws_appautoscaling_policy.this[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metric_name == "ApproximateBacklogSizePerInstance" && aws_appautoscaling_policy.this[0].target_tracking_scaling_policy_configuration[0].target_value == 2
    error_message = "Async target tracking is on ApproximateBacklogSizePerInstance."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.wake[0].metric_name == "HasBacklogWithoutCapacity" && aws_cloudwatch_metric_alarm.wake[0].threshold == 1
    error_message = "The wake-up alarm watches HasBacklogWithoutCapacity >= 1."
  }
  assert {
    condition     = one(aws_appautoscaling_policy.wake[0].step_scaling_policy_configuration[0].step_adjustment).scaling_adjustment == 1 && aws_appautoscaling_policy.wake[0].step_scaling_policy_configuration[0].cooldown == 120
    error_message = "The wake-up step policy adds one instance."
  }
  assert {
    condition     = aws_s3_bucket_public_access_block.async[0].block_public_acls && aws_s3_bucket_public_access_block.async[0].restrict_public_buckets && aws_s3_bucket_public_access_block.async[0].block_public_policy && aws_s3_bucket_public_access_block.async[0].ignore_public_acls
    error_message = "The async bucket blocks all public access."
  }
  assert {
    condition     = one([for r in aws_s3_bucket_server_side_encryption_configuration.async[0].rule : one(r.apply_server_side_encryption_by_default).sse_algorithm]) == "AES256"
    error_message = "The async bucket encrypts objects (SSE-S3 without a key)."
  }
  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.async[0].rule).expiration[0].days == 7
    error_message = "Old objects expire after async_expire_days."
  }
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.async[0].policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false" && jsondecode(aws_s3_bucket_policy.async[0].policy).Statement[0].Effect == "Deny"
    error_message = "The async bucket refuses requests without TLS."
  }
  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : s.Action if s.Sid == "ReadAsyncInputs"] == [["s3:GetObject"]]
    error_message = "The execution role only reads the inputs."
  }
  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : s if s.Sid == "PublishAsyncNotifications"]) == 1
    error_message = "The role may publish to the error topic."
  }
  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : !contains(flatten([s.Action]), "s3:*") && !contains(flatten([s.Action]), "s3:DeleteObject")])
    error_message = "The execution role gets no broad or delete S3 permissions."
  }
}

run "async_module_bring_your_own_bucket" {
  command = plan
  module {
    source = "./modules/sagemaker_endpoint"
  }
  override_resource {
    target          = aws_cloudwatch_log_group.this
    override_during = plan
    values          = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/expense" }
  }
  variables {
    name              = "expense"
    image_uri         = "123456789012.dkr.ecr.us-east-1.amazonaws.com/expense:1"
    async_inference   = true
    async_bucket_name = "my-documents"
  }

  assert {
    condition     = length(aws_s3_bucket.async) == 0 && length(aws_s3_bucket_policy.async) == 0
    error_message = "A bucket of the caller's is used, not created."
  }
  assert {
    condition     = output.async_inference.input_path == "s3://my-documents/inputs" && output.async_inference.failure_path == "s3://my-documents/failures"
    error_message = "Paths are prefixes of the given bucket."
  }
  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : s.Resource if s.Sid == "WriteAsyncResults"] == [["arn:aws:s3:::my-documents/outputs/*", "arn:aws:s3:::my-documents/failures/*"]]
    error_message = "The execution role writes only its outputs and failures prefixes."
  }
}

run "realtime_module_has_no_async_resources" {
  command = plan
  module {
    source = "./modules/sagemaker_endpoint"
  }
  variables {
    name      = "expense"
    image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/expense:1"
  }

  assert {
    condition     = length(aws_s3_bucket.async) == 0 && length(aws_cloudwatch_metric_alarm.wake) == 0 && length(aws_sagemaker_endpoint_configuration.this.async_inference_config) == 0
    error_message = "A real-time endpoint has no bucket, wake-up alarm or async config."
  }
  assert {
    condition     = aws_appautoscaling_target.this[0].min_capacity == 1
    error_message = "A real-time endpoint keeps min_capacity instances."
  }
}

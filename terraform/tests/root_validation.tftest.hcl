# Plan-only: no AWS account, no credentials. The mocked provider's values (data sources, fixed
# ARNs/URLs) are shared by the root tests: tests/mocks/aws.tfmock.hcl.
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

# Every run here must be rejected by the named variable's validation before anything is planned.
variables {
  lambda_zip = "tests/fixtures/handler.zip"
}

run "min_greater_than_max" {
  command = plan
  variables {
    min_instances = 5
    max_instances = 2
  }
  expect_failures = [var.max_instances]
}

run "max_above_100" {
  command = plan
  variables {
    max_instances = 101
  }
  expect_failures = [var.max_instances]
}

run "min_below_1_for_realtime" {
  command = plan
  variables {
    min_instances = 0
  }
  expect_failures = [var.min_instances]
}

run "bad_auth_mode" {
  command = plan
  variables {
    auth = "apikey"
  }
  expect_failures = [var.auth]
}

run "token_mode_without_token" {
  command = plan
  variables {
    auth = "token"
  }
  expect_failures = [var.auth_token]
}

run "token_too_short" {
  command = plan
  variables {
    auth       = "token"
    auth_token = "short"
  }
  expect_failures = [var.auth_token]
}

run "serverless_memory_not_a_step" {
  command = plan
  variables {
    serverless           = true
    serverless_memory_mb = 3000
  }
  expect_failures = [var.serverless_memory_mb]
}

run "serverless_memory_too_small" {
  command = plan
  variables {
    serverless           = true
    serverless_memory_mb = 512
  }
  expect_failures = [var.serverless_memory_mb]
}

run "serverless_memory_too_large" {
  command = plan
  variables {
    serverless           = true
    serverless_memory_mb = 7168
  }
  expect_failures = [var.serverless_memory_mb]
}

run "serverless_concurrency_zero" {
  command = plan
  variables {
    serverless                 = true
    serverless_max_concurrency = 0
  }
  expect_failures = [var.serverless_max_concurrency]
}

run "serverless_concurrency_above_200" {
  command = plan
  variables {
    serverless                 = true
    serverless_max_concurrency = 201
  }
  expect_failures = [var.serverless_max_concurrency]
}

run "instance_type_without_ml_prefix" {
  command = plan
  variables {
    instance_type = "m5.xlarge"
  }
  expect_failures = [var.instance_type]
}

run "instance_type_without_size" {
  command = plan
  variables {
    instance_type = "ml.bogus"
  }
  expect_failures = [var.instance_type]
}

run "instance_type_uppercase" {
  command = plan
  variables {
    instance_type = "ml.M5.xlarge"
  }
  expect_failures = [var.instance_type]
}

run "name_with_uppercase" {
  command = plan
  variables {
    name = "Expense"
  }
  expect_failures = [var.name]
}

run "name_too_long" {
  command = plan
  variables {
    name = "a-very-long-stack-name-that-is-over-forty-chars"
  }
  expect_failures = [var.name]
}

run "no_image_and_no_repository" {
  command = plan
  variables {
    create_repository = false
  }
  expect_failures = [var.image_uri]
}

run "reserved_concurrency_zero" {
  command = plan
  variables {
    reserved_concurrency = 0
  }
  expect_failures = [var.reserved_concurrency]
}

run "lambda_memory_out_of_range" {
  command = plan
  variables {
    lambda_memory_mb = 64
  }
  expect_failures = [var.lambda_memory_mb]
}

run "lambda_timeout_out_of_range" {
  command = plan
  variables {
    lambda_timeout = 901
  }
  expect_failures = [var.lambda_timeout]
}

run "log_retention_not_accepted_by_cloudwatch" {
  command = plan
  variables {
    log_retention_days = 10
  }
  expect_failures = [var.log_retention_days]
}

run "cors_origin_with_path" {
  command = plan
  variables {
    cors_allow_origins = ["https://app.example.com/path"]
  }
  expect_failures = [var.cors_allow_origins]
}

run "lambda_zip_not_a_zip" {
  command = plan
  variables {
    lambda_zip = "tests/fixtures/handler.tar.gz"
  }
  expect_failures = [var.lambda_zip]
}

run "negative_cooldown" {
  command = plan
  variables {
    scale_in_cooldown = -1
  }
  expect_failures = [var.scale_in_cooldown]
}

run "zero_target" {
  command = plan
  variables {
    target_invocations_per_instance = 0
  }
  expect_failures = [var.target_invocations_per_instance]
}

run "region_not_a_region" {
  command = plan
  variables {
    region = "Europe"
  }
  expect_failures = [var.region]
}

run "region_differs_from_the_provider" {
  command = plan
  variables {
    region = "eu-west-1"
  }
  expect_failures = [output.region]
}

run "token_version_zero" {
  command = plan
  variables {
    auth_token_version = 0
  }
  expect_failures = [var.auth_token_version]
}

run "token_version_not_whole" {
  command = plan
  variables {
    auth_token_version = 1.5
  }
  expect_failures = [var.auth_token_version]
}

run "ecr_key_not_an_arn" {
  command = plan
  variables {
    ecr_kms_key_arn = "alias/expense"
  }
  expect_failures = [var.ecr_kms_key_arn]
}

run "endpoint_key_not_an_arn" {
  command = plan
  variables {
    endpoint_kms_key_arn = "00000000-0000-0000-0000-000000000000"
  }
  expect_failures = [var.endpoint_kms_key_arn]
}

run "endpoint_key_with_local_nvme_instance_g4dn" {
  command = plan
  variables {
    instance_type        = "ml.g4dn.xlarge"
    endpoint_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
  }
  expect_failures = [var.endpoint_kms_key_arn]
}

run "endpoint_key_with_local_nvme_instance_m5d" {
  command = plan
  variables {
    instance_type        = "ml.m5d.large"
    endpoint_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
  }
  expect_failures = [var.endpoint_kms_key_arn]
}

run "endpoint_key_with_local_nvme_instance_g5" {
  command = plan
  variables {
    instance_type        = "ml.g5.2xlarge"
    endpoint_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
  }
  expect_failures = [var.endpoint_kms_key_arn]
}

run "log_key_is_an_alias" {
  command = plan
  variables {
    log_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/logs"
  }
  expect_failures = [var.log_kms_key_arn]
}

run "token_key_from_another_service" {
  command = plan
  variables {
    auth              = "token"
    auth_token        = "0123456789abcdef0123456789abcdef"
    token_kms_key_arn = "arn:aws:iam::123456789012:role/not-a-key"
  }
  expect_failures = [var.token_kms_key_arn]
}

run "tag_key_reserved_by_aws" {
  command = plan
  variables {
    tags = { "AWS:team" = "x" }
  }
  expect_failures = [var.tags]
}

run "tag_value_too_long" {
  command = plan
  variables {
    tags = { team = format("%257s", "x") }
  }
  expect_failures = [var.tags]
}

run "more_than_50_tags" {
  command = plan
  variables {
    tags = { for i in range(51) : "k${i}" => "v" }
  }
  expect_failures = [var.tags]
}

run "model_env_name_with_a_hyphen" {
  command = plan
  variables {
    model_env = { "EXPENSE-MAX" = "1" }
  }
  expect_failures = [var.model_env]
}

run "model_env_name_starting_with_a_digit" {
  command = plan
  variables {
    model_env = { "1ST" = "1" }
  }
  expect_failures = [var.model_env]
}

run "model_env_value_too_long" {
  command = plan
  variables {
    model_env = { EXPENSE_X = format("%1025s", "x") }
  }
  expect_failures = [var.model_env]
}

run "fifty_tags_and_long_values_are_allowed" {
  command = plan
  variables {
    tags      = merge({ for i in range(49) : "k${i}" => "v" }, { (format("%128s", "k")) = format("%256s", "v") })
    model_env = { _EXPENSE_X1 = format("%1024s", "x") }
  }
}

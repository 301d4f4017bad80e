# Plan-only: no AWS account, no credentials. The mocked provider's values (data sources, fixed
# ARNs/URLs) are shared by the root tests: tests/mocks/aws.tfmock.hcl.
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  lambda_zip = "tests/fixtures/handler.zip"
}

run "defaults_realtime_with_autoscaling" {
  command = plan

  assert {
    condition     = output.autoscaling.target == 300
    error_message = "Default target must be 300 invocations per minute per instance."
  }
  assert {
    condition     = output.autoscaling.scale_in_cooldown == 300 && output.autoscaling.scale_out_cooldown == 300
    error_message = "Default scale-in and scale-out cooldowns must be 300 s."
  }
  assert {
    condition     = output.autoscaling.min == 1 && output.autoscaling.max == 4
    error_message = "Default capacity must be min 1, max 4."
  }
  assert {
    condition     = output.autoscaling.metric == "SageMakerVariantInvocationsPerInstance"
    error_message = "Autoscaling must track SageMakerVariantInvocationsPerInstance."
  }
  assert {
    condition     = module.sagemaker_endpoint.production_variant.instance_type == "ml.m5.xlarge" && module.sagemaker_endpoint.production_variant.initial_instance_count == 1
    error_message = "Real-time variant must use ml.m5.xlarge starting at min_instances."
  }
  assert {
    condition     = length(module.sagemaker_endpoint.production_variant.serverless_config) == 0
    error_message = "A real-time endpoint must not have a serverless config."
  }
  assert {
    condition     = output.image_uri == "123456789012.dkr.ecr.us-east-1.amazonaws.com/expense:latest"
    error_message = "Without image_uri, the image is the created repository at image_tag."
  }
  assert {
    condition     = output.repository_url == "123456789012.dkr.ecr.us-east-1.amazonaws.com/expense"
    error_message = "repository_url must be the created repository."
  }
  assert {
    condition     = output.endpoint_name == "expense" && output.function_name == "expense" && output.region == "us-east-1"
    error_message = "Names derive from var.name and the region from var.region."
  }
  assert {
    condition = module.function_url[0].environment == tomap({
      ENDPOINT_NAME         = "expense"
      AUTH_MODE             = "iam"
      MAX_BODY_BYTES        = "6000000"
      MAX_DOCUMENT_BYTES    = "4400000"
      MAX_PAYLOAD_BYTES     = "6000000"
      FETCH_TIMEOUT_S       = "10"
      INVOKE_READ_TIMEOUT_S = "52"
      ALLOW_HTTP_URLS       = "false"
      LOG_LEVEL             = "INFO"
    })
    error_message = "Handler environment must match the contract (no TOKEN_PARAMETER in iam mode)."
  }
  assert {
    condition = anytrue([
      for s in jsondecode(module.sagemaker_endpoint.execution_policy).Statement :
      s.Resource == ["arn:aws:ecr:us-east-1:123456789012:repository/expense"] if s.Sid == "PullModelImage"
    ])
    error_message = "The execution role must pull from its own repository only."
  }
}

run "explicit_ecr_image_without_repository" {
  command = plan

  variables {
    create_repository = false
    image_uri         = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/shared/expense@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }

  assert {
    condition     = output.repository_url == null
    error_message = "No repository is created when create_repository is false."
  }
  assert {
    condition     = output.image_uri == var.image_uri
    error_message = "An explicit image_uri is used as given."
  }
  assert {
    condition = anytrue([
      for s in jsondecode(module.sagemaker_endpoint.execution_policy).Statement :
      s.Resource == ["arn:aws:ecr:eu-west-1:210987654321:repository/shared/expense"] if s.Sid == "PullModelImage"
    ])
    error_message = "The execution role must pull exactly the repository named in image_uri."
  }
}

run "non_ecr_image_needs_no_ecr_permission" {
  command = plan

  variables {
    create_repository = false
    image_uri         = "ghcr.io/example/expense:1.0.0"
  }

  assert {
    condition = alltrue([
      for s in jsondecode(module.sagemaker_endpoint.execution_policy).Statement :
      !anytrue([for a in flatten([s.Action]) : startswith(a, "ecr:")])
    ])
    error_message = "An image outside ECR must not grant any ECR permission."
  }
}

run "custom_scaling" {
  command = plan

  variables {
    instance_type                   = "ml.c5.2xlarge"
    min_instances                   = 2
    max_instances                   = 10
    target_invocations_per_instance = 120
    scale_in_cooldown               = 600
    scale_out_cooldown              = 60
  }

  assert {
    condition = output.autoscaling == {
      min                = 2
      max                = 10
      target             = 120
      scale_in_cooldown  = 600
      scale_out_cooldown = 60
      metric             = "SageMakerVariantInvocationsPerInstance"
    }
    error_message = "Scaling variables must reach the target and the policy."
  }
  assert {
    condition     = module.sagemaker_endpoint.production_variant.instance_type == "ml.c5.2xlarge" && module.sagemaker_endpoint.production_variant.initial_instance_count == 2
    error_message = "instance_type and min_instances must reach the production variant."
  }
}

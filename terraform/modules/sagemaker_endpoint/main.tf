data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  variant_name = "AllTraffic"
  autoscaling  = !var.serverless && var.enable_autoscaling
  log_group    = "/aws/sagemaker/Endpoints/${var.name}"

  # Models and endpoint configs are immutable in SageMaker: their names carry a hash of what they
  # contain, so a change creates a new one (create_before_destroy) and the endpoint switches over.
  model_hash = substr(sha1(jsonencode({
    image       = var.image_uri
    environment = var.environment
    isolation   = var.enable_network_isolation
    role        = aws_iam_role.execution.name
  })), 0, 8)

  # An endpoint in async mode scales down to zero instances when its queue is empty.
  min_capacity = var.async_inference ? 0 : var.min_capacity
  async_config_hash = var.async_inference ? jsonencode([
    local.async_paths, var.async_max_concurrent_invocations, var.async_s3_kms_key_arn, local.async_topics,
  ]) : null

  variant = {
    instance_type          = var.serverless ? null : var.instance_type
    initial_instance_count = var.serverless ? null : var.min_capacity
    serverless = var.serverless ? {
      memory_size_in_mb = var.serverless_memory_mb
      max_concurrency   = var.serverless_max_concurrency
    } : null
  }

  # Only when the image lives in ECR (images from other registries need no ECR permission).
  ecr_statements = [for statement in [
    {
      Sid      = "PullModelImage"
      Effect   = "Allow"
      Action   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      Resource = var.ecr_repository_arns
    },
    {
      # GetAuthorizationToken cannot be scoped to a resource; it grants nothing by itself.
      Sid      = "EcrLogin"
      Effect   = "Allow"
      Action   = ["ecr:GetAuthorizationToken"]
      Resource = "*"
    },
  ] : statement if length(var.ecr_repository_arns) > 0]

  execution_policy = {
    Version = "2012-10-17"
    Statement = concat(local.ecr_statements, local.async_statements, [
      {
        Sid      = "CreateOwnLogGroup"
        Effect   = "Allow"
        Action   = ["logs:CreateLogGroup"]
        Resource = aws_cloudwatch_log_group.this.arn
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.this.arn}:*"
      },
      {
        # PutMetricData cannot be scoped to a resource; the condition pins it to SageMaker's namespace.
        Sid       = "PublishEndpointMetrics"
        Effect    = "Allow"
        Action    = ["cloudwatch:PutMetricData"]
        Resource  = "*"
        Condition = { StringEquals = { "cloudwatch:namespace" = "/aws/sagemaker/Endpoints" } }
      },
    ])
  }
}

resource "aws_iam_role" "execution" {
  name        = "${var.name}-sagemaker"
  description = "SageMaker execution role for endpoint ${var.name}: pulls its image, writes its logs."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [merge(
      {
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { Service = "sagemaker.${data.aws_partition.current.dns_suffix}" }
      },
      # Confused-deputy protection: only SageMaker acting for this account, in this region.
      var.trust_source_conditions ? {
        Condition = {
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
          ArnLike      = { "aws:SourceArn" = "arn:${data.aws_partition.current.partition}:sagemaker:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:*" }
        }
      } : {},
    )]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name   = "${var.name}-sagemaker"
  role   = aws_iam_role.execution.id
  policy = jsonencode(local.execution_policy)
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Log groups are encrypted by CloudWatch Logs by default; a customer-managed key is optional via var.log_kms_key_arn.
  #checkov:skip=CKV_AWS_338:Retention is a cost/compliance choice left to var.log_retention_days (default 30 days), not a fixed one year.
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_sagemaker_model" "this" {
  #checkov:skip=CKV_AWS_370:Network isolation is on (real-time and async); AWS does not support it for serverless endpoints, so only they run without it.
  name               = "${var.name}-${local.model_hash}"
  execution_role_arn = aws_iam_role.execution.arn
  # Serverless endpoints do not support network isolation (AWS's list of unsupported features).
  enable_network_isolation = var.enable_network_isolation && !var.serverless

  primary_container {
    image       = var.image_uri
    mode        = "SingleModel"
    environment = var.environment
  }

  tags = var.tags

  # The role's policy must exist before SageMaker validates that it can pull the image.
  depends_on = [aws_iam_role_policy.execution]

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_sagemaker_endpoint_configuration" "this" {
  #checkov:skip=CKV_AWS_98:The ML storage volume is encrypted with an AWS-managed key by default; a customer-managed key is optional via var.kms_key_arn (not allowed with Nitro instances that have local storage).
  name        = "${var.name}-${substr(sha1(jsonencode(concat([aws_sagemaker_model.this.name, local.variant, var.kms_key_arn], var.async_inference ? [local.async_config_hash] : []))), 0, 8)}"
  kms_key_arn = var.kms_key_arn

  production_variants {
    variant_name           = local.variant_name
    model_name             = aws_sagemaker_model.this.name
    initial_variant_weight = 1
    instance_type          = local.variant.instance_type
    initial_instance_count = local.variant.initial_instance_count

    dynamic "serverless_config" {
      for_each = var.serverless ? [local.variant.serverless] : []
      content {
        memory_size_in_mb = serverless_config.value.memory_size_in_mb
        max_concurrency   = serverless_config.value.max_concurrency
      }
    }
  }

  dynamic "async_inference_config" {
    for_each = var.async_inference ? [local.async_paths] : []
    content {
      client_config {
        max_concurrent_invocations_per_instance = var.async_max_concurrent_invocations
      }
      output_config {
        s3_output_path  = async_inference_config.value.output
        s3_failure_path = async_inference_config.value.failure
        kms_key_id      = var.async_s3_kms_key_arn

        dynamic "notification_config" {
          for_each = length(local.async_topics) > 0 ? [1] : []
          content {
            success_topic = var.async_success_topic_arn
            error_topic   = var.async_error_topic_arn
          }
        }
      }
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_sagemaker_endpoint" "this" {
  name                 = var.name
  endpoint_config_name = aws_sagemaker_endpoint_configuration.this.name
  tags                 = var.tags

  # The container writes to the log group from its first start.
  depends_on = [aws_cloudwatch_log_group.this]
}

resource "aws_appautoscaling_target" "this" {
  count = local.autoscaling ? 1 : 0

  service_namespace  = "sagemaker"
  resource_id        = "endpoint/${aws_sagemaker_endpoint.this.name}/variant/${local.variant_name}"
  scalable_dimension = "sagemaker:variant:DesiredInstanceCount"
  min_capacity       = local.min_capacity
  max_capacity       = var.max_capacity
  tags               = var.tags
}

resource "aws_appautoscaling_policy" "this" {
  count = local.autoscaling ? 1 : 0

  name               = var.async_inference ? "${var.name}-backlog-per-instance" : "${var.name}-invocations-per-instance"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.async_inference ? var.async_backlog_per_instance : var.target_invocations_per_instance
    scale_in_cooldown  = var.scale_in_cooldown
    scale_out_cooldown = var.scale_out_cooldown

    dynamic "predefined_metric_specification" {
      for_each = var.async_inference ? [] : [1]
      content {
        predefined_metric_type = "SageMakerVariantInvocationsPerInstance"
      }
    }

    # Async: queued requests per instance (AWS's recommended metric for asynchronous endpoints).
    dynamic "customized_metric_specification" {
      for_each = var.async_inference ? [1] : []
      content {
        namespace   = "AWS/SageMaker"
        metric_name = "ApproximateBacklogSizePerInstance"
        statistic   = "Average"
        dimensions {
          name  = "EndpointName"
          value = aws_sagemaker_endpoint.this.name
        }
      }
    }
  }
}

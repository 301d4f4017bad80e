# Asynchronous inference (var.async_inference): the bucket requests queue from and results land in,
# and the step policy that wakes an endpoint scaled to zero. The endpoint config's
# async_inference_config, the target-tracking policy on the backlog and the role's S3 permissions
# are in main.tf.

locals {
  async_bucket_created = var.async_inference && var.async_bucket_name == null
  async_bucket = !var.async_inference ? null : (
    local.async_bucket_created ? aws_s3_bucket.async[0].id : var.async_bucket_name
  )
  async_paths = !var.async_inference ? null : {
    input   = "s3://${local.async_bucket}/inputs"
    output  = "s3://${local.async_bucket}/outputs"
    failure = "s3://${local.async_bucket}/failures"
  }
  async_bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${coalesce(local.async_bucket, "none")}"

  # The execution role reads only the inputs and writes only outputs and failures (+ the bucket's
  # key and the notification topics, when given).
  async_statements = [for statement in [
    {
      Sid      = "ReadAsyncInputs"
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = "${local.async_bucket_arn}/inputs/*"
    },
    {
      Sid      = "WriteAsyncResults"
      Effect   = "Allow"
      Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
      Resource = ["${local.async_bucket_arn}/outputs/*", "${local.async_bucket_arn}/failures/*"]
    },
    {
      Sid      = "UseAsyncBucketKey"
      Effect   = "Allow"
      Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource = var.async_s3_kms_key_arn
    },
    {
      Sid      = "PublishAsyncNotifications"
      Effect   = "Allow"
      Action   = ["sns:Publish"]
      Resource = local.async_topics
    },
  ] : statement if var.async_inference && length(compact(flatten([statement.Resource]))) > 0]
  async_topics = compact([var.async_success_topic_arn, var.async_error_topic_arn])
}

resource "aws_s3_bucket" "async" {
  #checkov:skip=CKV_AWS_18:Access logging needs a second bucket; the objects are short-lived copies of the user's documents.
  #checkov:skip=CKV_AWS_21:Versioning would keep every expired document; objects are content-addressed and rewritten only with the same bytes.
  #checkov:skip=CKV_AWS_144:Cross-region replication of a queue is not wanted.
  #checkov:skip=CKV2_AWS_62:Event notifications are optional SNS topics on the endpoint (async_success_topic_arn/async_error_topic_arn).
  #checkov:skip=CKV_AWS_145:SSE-S3 by default; a customer-managed key is optional via var.async_s3_kms_key_arn.
  count = local.async_bucket_created ? 1 : 0

  bucket_prefix = "${substr(lower(var.name), 0, 30)}-async-"
  # The bucket only queues copies of documents and their answers (which expire anyway):
  # destroying the stack removes it with what is left in it.
  force_destroy = true
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "async" {
  count = local.async_bucket_created ? 1 : 0

  bucket                  = aws_s3_bucket.async[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "async" {
  count = local.async_bucket_created ? 1 : 0

  bucket = aws_s3_bucket.async[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "async" {
  count = local.async_bucket_created ? 1 : 0

  bucket = aws_s3_bucket.async[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.async_s3_kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.async_s3_kms_key_arn
    }
    bucket_key_enabled = var.async_s3_kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "async" {
  count = local.async_bucket_created ? 1 : 0

  bucket = aws_s3_bucket.async[0].id
  rule {
    id     = "expire-documents-and-results"
    status = "Enabled"
    filter {}
    expiration {
      days = var.async_expire_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_policy" "async" {
  count = local.async_bucket_created ? 1 : 0

  bucket = aws_s3_bucket.async[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.async[0].arn, "${aws_s3_bucket.async[0].arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  depends_on = [aws_s3_bucket_public_access_block.async]
}

# Target tracking cannot leave zero instances (no traffic reaches an empty variant, so no metric
# grows): this alarm on HasBacklogWithoutCapacity starts the first instance.
resource "aws_appautoscaling_policy" "wake" {
  count = local.autoscaling && var.async_inference ? 1 : 0

  name               = "${var.name}-wake-from-zero"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = var.scale_out_cooldown
    metric_aggregation_type = "Average"

    step_adjustment {
      metric_interval_lower_bound = 0
      scaling_adjustment          = 1
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "wake" {
  count = local.autoscaling && var.async_inference ? 1 : 0

  alarm_name          = "${var.name}-has-backlog-without-capacity"
  alarm_description   = "Requests are queued on ${var.name} and it has no instance: start one."
  namespace           = "AWS/SageMaker"
  metric_name         = "HasBacklogWithoutCapacity"
  dimensions          = { EndpointName = aws_sagemaker_endpoint.this.name }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 2
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = [aws_appautoscaling_policy.wake[0].arn]
  tags                = var.tags
}

output "endpoint_name" {
  description = "Name of the SageMaker endpoint (for InvokeEndpoint)."
  value       = aws_sagemaker_endpoint.this.name
}

output "endpoint_arn" {
  description = "ARN of the SageMaker endpoint."
  value       = aws_sagemaker_endpoint.this.arn
}

output "endpoint_config_name" {
  description = "Name of the endpoint configuration in use."
  value       = aws_sagemaker_endpoint_configuration.this.name
}

output "model_name" {
  description = "Name of the SageMaker model."
  value       = aws_sagemaker_model.this.name
}

output "variant_name" {
  description = "Name of the production variant."
  value       = local.variant_name
}

output "execution_role_arn" {
  description = "ARN of the SageMaker execution role."
  value       = aws_iam_role.execution.arn
}

output "execution_role_name" {
  description = "Name of the SageMaker execution role."
  value       = aws_iam_role.execution.name
}

output "execution_policy" {
  description = "The execution role's inline policy document, as JSON."
  value       = aws_iam_role_policy.execution.policy
}

output "log_group_name" {
  description = "CloudWatch log group the endpoint writes to."
  value       = aws_cloudwatch_log_group.this.name
}

output "autoscaling" {
  description = "Autoscaling settings (min, max, target, cooldowns), or null when serverless or autoscaling is off."
  value = local.autoscaling ? {
    min                = aws_appautoscaling_target.this[0].min_capacity
    max                = aws_appautoscaling_target.this[0].max_capacity
    target             = aws_appautoscaling_policy.this[0].target_tracking_scaling_policy_configuration[0].target_value
    scale_in_cooldown  = aws_appautoscaling_policy.this[0].target_tracking_scaling_policy_configuration[0].scale_in_cooldown
    scale_out_cooldown = aws_appautoscaling_policy.this[0].target_tracking_scaling_policy_configuration[0].scale_out_cooldown
    metric             = var.async_inference ? "ApproximateBacklogSizePerInstance" : "SageMakerVariantInvocationsPerInstance"
  } : null
}

output "async_inference" {
  description = "Async mode: the bucket and the S3 paths of inputs, outputs and failures, or null."
  value = var.async_inference ? {
    bucket       = local.async_bucket
    input_path   = local.async_paths.input
    output_path  = local.async_paths.output
    failure_path = local.async_paths.failure
  } : null
}

output "production_variant" {
  description = "The endpoint config's production variant (instance type and count, or serverless_config)."
  value       = aws_sagemaker_endpoint_configuration.this.production_variants[0]
}

output "kms_key_arn" {
  description = "Customer-managed KMS key of the ML storage volume (endpoint config), or null for the AWS-managed key."
  value       = aws_sagemaker_endpoint_configuration.this.kms_key_arn
}

output "log_kms_key_arn" {
  description = "Customer-managed KMS key of the log group, or null for CloudWatch Logs encryption."
  value       = aws_cloudwatch_log_group.this.kms_key_id
}

output "trust_policy" {
  description = "The execution role's trust policy, as JSON."
  value       = aws_iam_role.execution.assume_role_policy
}

output "environment" {
  description = "Environment variables of the model container."
  value       = aws_sagemaker_model.this.primary_container[0].environment
}

output "function_url" {
  description = "HTTPS URL of the function."
  value       = aws_lambda_function_url.this.function_url
}

output "authorization_type" {
  description = "Auth type of the function URL: AWS_IAM or NONE (token mode)."
  value       = aws_lambda_function_url.this.authorization_type
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the function's execution role."
  value       = aws_iam_role.this.name
}

output "policy" {
  description = "The execution role's inline policy document, as JSON."
  value       = aws_iam_role_policy.this.policy
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "token_parameter_name" {
  description = "SSM parameter holding the bearer token (token mode), or null."
  value       = local.token_mode ? aws_ssm_parameter.token[0].name : null
}

output "environment" {
  description = "Environment variables given to the handler."
  value       = tomap(local.environment)
}

output "cors" {
  description = "CORS configuration of the function URL (empty list when none)."
  value       = aws_lambda_function_url.this.cors
}

output "log_kms_key_arn" {
  description = "Customer-managed KMS key of the log group, or null for CloudWatch Logs encryption."
  value       = aws_cloudwatch_log_group.this.kms_key_id
}

output "trust_policy" {
  description = "The execution role's trust policy, as JSON."
  value       = aws_iam_role.this.assume_role_policy
}

output "function_url" {
  description = "HTTPS URL of the Lambda function URL (SigV4-signed requests in iam mode, bearer token in token mode)."
  value       = module.function_url.function_url
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.function_url.function_name
}

output "auth" {
  description = "Auth mode of the function URL: iam or token."
  value       = var.auth
}

output "endpoint_name" {
  description = "Name of the SageMaker endpoint."
  value       = module.sagemaker_endpoint.endpoint_name
}

output "endpoint_arn" {
  description = "ARN of the SageMaker endpoint."
  value       = module.sagemaker_endpoint.endpoint_arn
}

output "image_uri" {
  description = "Container image the model runs."
  value       = local.image_uri
}

output "repository_url" {
  description = "URL of the ECR repository to push the image to, or null when create_repository is false."
  value       = var.create_repository ? module.ecr_image[0].repository_url : null
}

output "token_parameter_name" {
  description = "SSM parameter holding the bearer token (token mode), or null in iam mode."
  value       = module.function_url.token_parameter_name
}

output "region" {
  description = "AWS region of the stack (the provider's region)."
  value       = data.aws_region.current.name

  precondition {
    condition     = var.region == null || var.region == data.aws_region.current.name
    error_message = "var.region does not match the region of the AWS provider: set region to null or configure the provider for that region."
  }
}

output "autoscaling" {
  description = "Autoscaling of the real-time endpoint: min, max, target (invocations/min/instance), scale_in_cooldown, scale_out_cooldown, metric; null when serverless."
  value       = module.sagemaker_endpoint.autoscaling
}

output "function_url" {
  description = "HTTPS URL of the Lambda function URL (SigV4-signed requests in iam mode, bearer token in token mode); null in async mode."
  value       = try(module.function_url[0].function_url, null)
}

output "function_name" {
  description = "Name of the Lambda function; null in async mode."
  value       = try(module.function_url[0].function_name, null)
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
  value       = try(module.function_url[0].token_parameter_name, null)
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
  description = "Autoscaling of the endpoint: min, max, target (invocations/min/instance; async: queued requests per instance), scale_in_cooldown, scale_out_cooldown, metric; null when serverless."
  value       = module.sagemaker_endpoint.autoscaling
}

output "async_input_path" {
  description = "Async mode: S3 prefix expense-cli uploads documents to (s3://BUCKET/inputs); null otherwise."
  value       = try(module.sagemaker_endpoint.async_inference.input_path, null)
}

output "async_inference" {
  description = "Async mode: the bucket and the S3 paths of inputs, outputs and failures; null otherwise."
  value       = module.sagemaker_endpoint.async_inference
}

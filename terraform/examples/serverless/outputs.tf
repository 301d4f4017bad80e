output "function_url" {
  description = "Public URL; send the token as `Authorization: Bearer <token>`."
  value       = module.function_url.function_url
}

output "token_parameter_name" {
  description = "SSM parameter holding the token."
  value       = module.function_url.token_parameter_name
}

output "repository_url" {
  description = "ECR repository to push the model image to."
  value       = module.ecr_image.repository_url
}

output "endpoint_name" {
  description = "Name of the serverless SageMaker endpoint."
  value       = module.sagemaker_endpoint.endpoint_name
}

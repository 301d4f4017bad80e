output "function_url" {
  description = "URL to send SigV4-signed requests to."
  value       = module.expense.function_url
}

output "repository_url" {
  description = "ECR repository to push the model image to."
  value       = module.expense.repository_url
}

output "endpoint_name" {
  description = "Name of the SageMaker endpoint."
  value       = module.expense.endpoint_name
}

output "autoscaling" {
  description = "Autoscaling of the endpoint."
  value       = module.expense.autoscaling
}

output "repository_url" {
  description = "URL of the repository (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME), for docker push and image URIs."
  value       = aws_ecr_repository.this.repository_url
}

output "repository_arn" {
  description = "ARN of the repository."
  value       = aws_ecr_repository.this.arn
}

output "repository_name" {
  description = "Name of the repository."
  value       = aws_ecr_repository.this.name
}

output "registry_id" {
  description = "Account ID of the registry holding the repository."
  value       = aws_ecr_repository.this.registry_id
}

output "image_tag_mutability" {
  description = "MUTABLE or IMMUTABLE."
  value       = aws_ecr_repository.this.image_tag_mutability
}

output "encryption_type" {
  description = "Encryption of the images at rest: AES256 or KMS."
  value       = aws_ecr_repository.this.encryption_configuration[0].encryption_type
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "expense-sl"
}

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "image_tag" {
  description = "Tag of the model image in the created repository."
  type        = string
  default     = "latest"
}

variable "lambda_zip" {
  description = "Path of the handler zip built by `expense-cli package`."
  type        = string
}

variable "auth_token" {
  description = "Bearer token callers must send: written to an SSM SecureString with a write-only argument, never kept in state (ephemeral)."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "auth_token_version" {
  description = "Increase with every new auth_token: the write-only token is rewritten only when this changes."
  type        = number
  default     = 1
}

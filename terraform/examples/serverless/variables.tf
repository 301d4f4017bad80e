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
  description = "Bearer token callers must send (stored as an SSM SecureString; also kept in state)."
  type        = string
  sensitive   = true
}

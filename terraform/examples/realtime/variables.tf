variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "expense-rt"
}

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "lambda_zip" {
  description = "Path of the handler zip built by `expense-cli package`."
  type        = string
}

variable "cors_allow_origins" {
  description = "Origins allowed by CORS on the function URL."
  type        = list(string)
  default     = []
}

variable "immutable_tags" {
  description = "Make the ECR repository's tags immutable (expense-cli pushes a new tag per build)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key ARN for the endpoint volume and the log groups (its key policy must allow logs.REGION.amazonaws.com); null uses AWS-managed encryption."
  type        = string
  default     = null
}

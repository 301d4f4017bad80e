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

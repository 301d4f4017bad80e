variable "name" {
  description = "Name of the Lambda function; also the prefix of its role, log group and token parameter."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,57}$", var.name))
    error_message = "name must be 1-57 letters, digits, hyphens or underscores (\"-lambda\" is appended for the role, whose name AWS limits to 64 characters)."
  }
}

variable "lambda_zip" {
  description = "Path of the handler zip (built deterministically by `expense-cli package`)."
  type        = string

  validation {
    condition     = endswith(var.lambda_zip, ".zip")
    error_message = "lambda_zip must be the path of a .zip file."
  }
}

variable "handler" {
  description = "Handler entry point, module.function."
  type        = string
  default     = "app.lambda_handler"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_./]*\\.[A-Za-z_][A-Za-z0-9_]*$", var.handler))
    error_message = "handler must look like module.function (e.g. app.lambda_handler)."
  }
}

variable "runtime" {
  description = "Lambda runtime."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.11, python3.12 or python3.13."
  }
}

variable "architecture" {
  description = "Instruction set of the function (the handler is pure Python: arm64 is cheaper)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "timeout" {
  description = "Function timeout in seconds (1-900); the SageMaker invocation itself is capped at 60 s."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "memory_size" {
  description = "Function memory in MB (128-10240)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions: caps spend and protects the endpoint (1-1000)."
  type        = number
  default     = 10

  validation {
    condition     = var.reserved_concurrency >= 1 && var.reserved_concurrency <= 1000 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "reserved_concurrency must be a whole number from 1 to 1000."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing mode: PassThrough (no extra permissions) or Active (needs X-Ray write permissions you add)."
  type        = string
  default     = "PassThrough"

  validation {
    condition     = contains(["PassThrough", "Active"], var.tracing_mode)
    error_message = "tracing_mode must be PassThrough or Active."
  }
}

variable "endpoint_name" {
  description = "Name of the SageMaker endpoint the handler invokes (ENDPOINT_NAME)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.endpoint_name))
    error_message = "endpoint_name must be a SageMaker endpoint name."
  }
}

variable "endpoint_arn" {
  description = "ARN of that endpoint: the only resource the function may invoke."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:endpoint/.+$", var.endpoint_arn))
    error_message = "endpoint_arn must be a SageMaker endpoint ARN (arn:aws:sagemaker:REGION:ACCOUNT:endpoint/NAME)."
  }
}

variable "auth_mode" {
  description = "\"iam\": function URL with AWS_IAM auth (SigV4-signed callers); \"token\": public URL (NONE) and the handler checks a bearer token kept in SSM."
  type        = string
  default     = "iam"

  validation {
    condition     = contains(["iam", "token"], var.auth_mode)
    error_message = "auth_mode must be \"iam\" or \"token\"."
  }
}

variable "auth_token" {
  description = "Bearer token for token mode, written to an SSM SecureString through the write-only value_wo argument: it is never stored in Terraform state or plan files (ephemeral)."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = var.auth_mode != "token" || try(length(var.auth_token) >= 16, false)
    error_message = "auth_token of at least 16 characters is required when auth_mode is \"token\"."
  }
}

variable "auth_token_version" {
  description = "Version of auth_token: Terraform cannot see a write-only value, so the parameter is rewritten only when this number changes. Increase it with every new token."
  type        = number
  default     = 1

  validation {
    condition     = var.auth_token_version >= 1 && floor(var.auth_token_version) == var.auth_token_version
    error_message = "auth_token_version must be a whole number of at least 1."
  }
}

variable "token_parameter_name" {
  description = "Name of the SSM parameter holding the token; null means /NAME/auth-token."
  type        = string
  default     = null

  validation {
    condition     = var.token_parameter_name == null || can(regex("^/[a-zA-Z0-9_.\\-/]+$", var.token_parameter_name))
    error_message = "token_parameter_name must be a fully qualified SSM parameter name starting with \"/\"."
  }
}

variable "token_kms_key_arn" {
  description = "Customer-managed KMS key for the token parameter; null uses the AWS-managed aws/ssm key (no extra grant needed)."
  type        = string
  default     = null

  validation {
    condition     = var.token_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.token_kms_key_arn))
    error_message = "token_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "max_body_bytes" {
  description = "MAX_BODY_BYTES: largest request body the handler accepts (function URLs cap payloads at 6 MB)."
  type        = number
  default     = 6000000

  validation {
    condition     = var.max_body_bytes >= 1024 && var.max_body_bytes <= 6291456
    error_message = "max_body_bytes must be from 1024 to 6291456 (the function URL payload limit)."
  }
}

variable "max_document_bytes" {
  description = "MAX_DOCUMENT_BYTES: largest document forwarded to the endpoint (serverless endpoints take at most 4 MB)."
  type        = number
  default     = 4400000

  validation {
    condition     = var.max_document_bytes >= 1024 && var.max_document_bytes <= 6291456
    error_message = "max_document_bytes must be from 1024 to 6291456."
  }
}

variable "max_payload_bytes" {
  description = "MAX_PAYLOAD_BYTES: largest JSON body forwarded to InvokeEndpoint (real-time 6 MB, serverless 4 MB)."
  type        = number
  default     = 6000000

  validation {
    condition     = var.max_payload_bytes >= 1024 && var.max_payload_bytes <= 6291456
    error_message = "max_payload_bytes must be from 1024 to 6291456."
  }
}

variable "fetch_timeout_s" {
  description = "FETCH_TIMEOUT_S: total time allowed to fetch a document URL."
  type        = number
  default     = 10

  validation {
    condition     = var.fetch_timeout_s > 0 && var.fetch_timeout_s <= 60
    error_message = "fetch_timeout_s must be greater than 0 and at most 60."
  }
}

variable "allow_http_urls" {
  description = "ALLOW_HTTP_URLS: also fetch plain http:// document URLs (https only when false)."
  type        = bool
  default     = false
}

variable "log_level" {
  description = "LOG_LEVEL of the handler."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "cors_allow_origins" {
  description = "Origins allowed by CORS on the function URL; empty means no CORS configuration."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for o in var.cors_allow_origins : o == "*" || can(regex("^https?://[^/\\s]+$", o))])
    error_message = "Every CORS origin must be \"*\" or a scheme://host[:port] origin without a path."
  }
}

variable "cors_allow_methods" {
  description = "HTTP methods allowed by CORS."
  type        = list(string)
  default     = ["POST"]

  validation {
    condition     = alltrue([for m in var.cors_allow_methods : contains(["*", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], m)])
    error_message = "cors_allow_methods may contain only *, GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS."
  }
}

variable "cors_allow_headers" {
  description = "Request headers allowed by CORS (SigV4 and bearer-token headers by default)."
  type        = list(string)
  default     = ["authorization", "content-type", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"]
}

variable "cors_max_age" {
  description = "Seconds browsers may cache a CORS preflight answer (0-86400)."
  type        = number
  default     = 300

  validation {
    condition     = var.cors_max_age >= 0 && var.cors_max_age <= 86400 && floor(var.cors_max_age) == var.cors_max_age
    error_message = "cors_max_age must be a whole number of seconds from 0 to 86400."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's CloudWatch log group, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "Customer-managed KMS key for the log group; null uses CloudWatch Logs encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "tags" {
  description = "Tags for every resource (in addition to the provider's default_tags)."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.tags) <= 50 && alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "tags: at most 50, keys of 1-128 characters that do not start with \"aws:\" (reserved by AWS), values of at most 256 characters."
  }
}

variable "trust_source_conditions" {
  description = "Add aws:SourceAccount and aws:SourceArn conditions to the role's trust policy (confused-deputy protection); false trusts the service principal alone."
  type        = bool
  default     = true
}

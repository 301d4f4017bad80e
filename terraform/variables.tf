variable "name" {
  description = "Prefix of every resource name (ECR repository, SageMaker endpoint, Lambda function, roles, /NAME/auth-token)."
  type        = string
  default     = "expense"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.name)) && length(var.name) <= 40
    error_message = "name must be lowercase letters, digits and hyphens (not at either end), at most 40 characters."
  }
}

variable "region" {
  description = "AWS region to deploy into: used by the provider configuration expense-cli adds (cli/providers.tf). When this stack is called as a module, the caller's provider decides and this must be null or the same region."
  type        = string
  default     = null

  validation {
    condition     = var.region == null || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "tags" {
  description = "Tags applied to every resource (passed to every module)."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.tags) <= 50 && alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "tags: at most 50, keys of 1-128 characters that do not start with \"aws:\" (reserved by AWS), values of at most 256 characters."
  }
}

variable "create_repository" {
  description = "Create an ECR repository for the model image."
  type        = bool
  default     = true
}

variable "force_delete_repository" {
  description = "Let destroy delete the ECR repository even while it still holds images."
  type        = bool
  default     = false
}

variable "image_uri" {
  description = "Container image of the model; null means the created repository with image_tag."
  type        = string
  default     = null

  validation {
    condition     = var.image_uri != null || var.create_repository
    error_message = "image_uri is required when create_repository is false."
  }

  validation {
    condition     = var.image_uri == null || can(regex("^[^\\s:/]+(:[0-9]+)?/[^\\s]+(:[\\w][\\w.-]{0,127}|@sha256:[0-9a-f]{64})$", var.image_uri))
    error_message = "image_uri must be REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST."
  }
}

variable "image_tag" {
  description = "Tag of the image in the created repository (used when image_uri is null)."
  type        = string
  default     = "latest"

  validation {
    condition     = can(regex("^[\\w][\\w.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid image tag (letters, digits, '_', '.', '-'; at most 128 characters)."
  }
}

variable "instance_type" {
  description = "Instance type of the real-time endpoint."
  type        = string
  default     = "ml.m5.xlarge"

  validation {
    condition     = can(regex("^ml\\.[a-z0-9-]+\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must be a SageMaker instance type such as ml.m5.xlarge (ml.FAMILY.SIZE, lowercase)."
  }
}

variable "min_instances" {
  description = "Real-time: initial and minimum number of instances."
  type        = number
  default     = 1

  validation {
    condition     = var.serverless || (var.min_instances >= 1 && floor(var.min_instances) == var.min_instances)
    error_message = "min_instances must be a whole number of at least 1 for a real-time endpoint."
  }
}

variable "max_instances" {
  description = "Real-time: maximum number of instances (at most 100)."
  type        = number
  default     = 4

  validation {
    condition     = var.max_instances >= var.min_instances && var.max_instances <= 100 && floor(var.max_instances) == var.max_instances
    error_message = "max_instances must be a whole number from min_instances to 100."
  }
}

variable "target_invocations_per_instance" {
  description = "Autoscaling target: SageMakerVariantInvocationsPerInstance, invocations per minute per instance (300 = 5 requests/s)."
  type        = number
  default     = 300

  validation {
    condition     = var.target_invocations_per_instance > 0 && var.target_invocations_per_instance <= 100000
    error_message = "target_invocations_per_instance must be greater than 0 and at most 100000."
  }
}

variable "scale_in_cooldown" {
  description = "Autoscaling scale-in cooldown in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.scale_in_cooldown >= 0 && var.scale_in_cooldown <= 86400 && floor(var.scale_in_cooldown) == var.scale_in_cooldown
    error_message = "scale_in_cooldown must be a whole number of seconds from 0 to 86400."
  }
}

variable "scale_out_cooldown" {
  description = "Autoscaling scale-out cooldown in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.scale_out_cooldown >= 0 && var.scale_out_cooldown <= 86400 && floor(var.scale_out_cooldown) == var.scale_out_cooldown
    error_message = "scale_out_cooldown must be a whole number of seconds from 0 to 86400."
  }
}

variable "serverless" {
  description = "Deploy a serverless endpoint (no instances, no autoscaling, 4 MB payloads) instead of a real-time one."
  type        = bool
  default     = false
}

variable "serverless_memory_mb" {
  description = "Serverless: endpoint memory in MB, 1024 to 6144 in steps of 1024."
  type        = number
  default     = 4096

  validation {
    condition     = contains([1024, 2048, 3072, 4096, 5120, 6144], var.serverless_memory_mb)
    error_message = "serverless_memory_mb must be one of 1024, 2048, 3072, 4096, 5120, 6144."
  }
}

variable "serverless_max_concurrency" {
  description = "Serverless: maximum concurrent invocations, 1 to 200."
  type        = number
  default     = 5

  validation {
    condition     = var.serverless_max_concurrency >= 1 && var.serverless_max_concurrency <= 200 && floor(var.serverless_max_concurrency) == var.serverless_max_concurrency
    error_message = "serverless_max_concurrency must be a whole number from 1 to 200."
  }
}

variable "model_env" {
  description = "Extra environment variables for the model container."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.model_env : can(regex("^[a-zA-Z_][a-zA-Z0-9_]*$", k)) && length(k) <= 1024 && length(v) <= 1024])
    error_message = "model_env: names of letters, digits and underscores not starting with a digit (at most 1024 characters), values of at most 1024 characters (SageMaker's limits)."
  }
}

variable "auth" {
  description = "Function URL auth: \"iam\" (AWS_IAM, SigV4-signed requests) or \"token\" (public URL, bearer token checked by the handler)."
  type        = string
  default     = "iam"

  validation {
    condition     = contains(["iam", "token"], var.auth)
    error_message = "auth must be \"iam\" or \"token\"."
  }
}

variable "auth_token" {
  description = "Bearer token for auth = \"token\" (at least 16 characters), written to the SSM SecureString /NAME/auth-token with a write-only argument: never stored in Terraform state or plan files."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = var.auth != "token" || try(length(var.auth_token) >= 16, false)
    error_message = "auth_token (at least 16 characters) is required when auth is \"token\"."
  }
}

variable "auth_token_version" {
  description = "Version of auth_token (whole number >= 1): the write-only token is rewritten in SSM only when this changes, so increase it with every new token."
  type        = number
  default     = 1

  validation {
    condition     = var.auth_token_version >= 1 && floor(var.auth_token_version) == var.auth_token_version
    error_message = "auth_token_version must be a whole number of at least 1."
  }
}

variable "lambda_zip" {
  description = "Path of the handler zip built by `expense-cli package`."
  type        = string

  validation {
    condition     = endswith(var.lambda_zip, ".zip")
    error_message = "lambda_zip must be the path of a .zip file."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the function (1-1000): caps cost and load on the endpoint."
  type        = number
  default     = 10

  validation {
    condition     = var.reserved_concurrency >= 1 && var.reserved_concurrency <= 1000 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "reserved_concurrency must be a whole number from 1 to 1000."
  }
}

variable "lambda_timeout" {
  description = "Function timeout in seconds (1-900): a URL fetch plus up to two endpoint invocations."
  type        = number
  default     = 120

  validation {
    condition     = var.lambda_timeout >= 1 && var.lambda_timeout <= 900 && floor(var.lambda_timeout) == var.lambda_timeout
    error_message = "lambda_timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "lambda_memory_mb" {
  description = "Function memory in MB (128-10240)."
  type        = number
  default     = 512

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240 && floor(var.lambda_memory_mb) == var.lambda_memory_mb
    error_message = "lambda_memory_mb must be a whole number of MB from 128 to 10240."
  }
}

variable "cors_allow_origins" {
  description = "Origins allowed by CORS on the function URL (e.g. [\"https://app.example.com\"]); empty disables CORS."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for o in var.cors_allow_origins : o == "*" || can(regex("^https?://[^/\\s]+$", o))])
    error_message = "Every CORS origin must be \"*\" or a scheme://host[:port] origin without a path."
  }
}

variable "log_retention_days" {
  description = "Retention of the Lambda and SageMaker log groups, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

# --- security options (null / false: AWS-managed encryption, mutable tags) ---------------------

variable "immutable_tags" {
  description = "Make the created ECR repository's tags immutable (a pushed tag can never point at another image). expense-cli pushes a new tag per build; leave false to re-push a moving tag such as \"latest\" by hand."
  type        = bool
  default     = false
}

variable "ecr_kms_key_arn" {
  description = "Customer-managed KMS key ARN for the created ECR repository's images; null uses AES256. Changing it replaces the repository."
  type        = string
  default     = null

  validation {
    condition     = var.ecr_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.ecr_kms_key_arn))
    error_message = "ecr_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID) or null."
  }
}

variable "endpoint_kms_key_arn" {
  description = "Customer-managed KMS key ARN for the endpoint instances' ML storage volume; null uses an AWS-managed key. Not allowed with instance types that have local NVMe storage (e.g. ml.m5d, ml.g4dn, ml.g5, ml.p4d), whose volumes are hardware-encrypted."
  type        = string
  default     = null

  validation {
    condition     = var.endpoint_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[a-zA-Z0-9/_-]+$", var.endpoint_kms_key_arn))
    error_message = "endpoint_kms_key_arn must be a KMS key or alias ARN (arn:aws:kms:REGION:ACCOUNT:key/ID) or null."
  }

  validation {
    condition     = var.endpoint_kms_key_arn == null || var.serverless || !can(regex("^ml\\.([a-z]+[0-9]+[a-z]*d[a-z]*|g5|g6|g6e|p5|p5e|p5en|trn1|trn1n)\\.", var.instance_type))
    error_message = "endpoint_kms_key_arn cannot be used with an instance type that has local NVMe storage (its volumes are encrypted by the hardware): set it to null or choose e.g. ml.m5.xlarge."
  }
}

variable "log_kms_key_arn" {
  description = "Customer-managed KMS key ARN for both CloudWatch log groups (Lambda and endpoint); null uses CloudWatch Logs encryption. The key policy must allow the logs.REGION.amazonaws.com service principal."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID, not an alias: CloudWatch Logs needs the key ARN) or null."
  }
}

variable "token_kms_key_arn" {
  description = "Customer-managed KMS key ARN for the token parameter (auth = \"token\"); null uses the AWS-managed aws/ssm key. The Lambda role gets kms:Decrypt on it via SSM only."
  type        = string
  default     = null

  validation {
    condition     = var.token_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.token_kms_key_arn))
    error_message = "token_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID) or null."
  }
}

variable "trust_source_conditions" {
  description = "Add aws:SourceAccount / aws:SourceArn conditions to the Lambda and SageMaker roles' trust policies (confused-deputy protection)."
  type        = bool
  default     = true
}

variable "async_inference" {
  description = "Asynchronous inference: documents queue in S3 (up to async_max_document_mb each), results land in S3, instances scale from 0 to max_instances; no function URL (not with serverless)."
  type        = bool
  default     = false

  validation {
    condition     = !(var.async_inference && var.serverless)
    error_message = "Choose one of serverless and async_inference."
  }
}

variable "async_bucket_name" {
  description = "Async: an existing bucket for inputs, outputs and failures (its settings are yours); null creates an encrypted, private, TLS-only bucket whose objects expire."
  type        = string
  default     = null

  validation {
    condition     = var.async_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.async_bucket_name))
    error_message = "async_bucket_name must be an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)."
  }
}

variable "async_s3_kms_key_arn" {
  description = "Async: customer-managed KMS key for the bucket's objects (SSE-KMS), or null for SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.async_s3_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.async_s3_kms_key_arn))
    error_message = "async_s3_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "async_expire_days" {
  description = "Async: days after which documents, results and failures are deleted from the created bucket."
  type        = number
  default     = 30

  validation {
    condition     = var.async_expire_days >= 1 && var.async_expire_days <= 3650 && floor(var.async_expire_days) == var.async_expire_days
    error_message = "async_expire_days must be a whole number from 1 to 3650."
  }
}

variable "async_max_document_mb" {
  description = "Async: largest document in MB (the container's EXPENSE_MAX_BYTES; AWS allows 1 GB inputs)."
  type        = number
  default     = 200

  validation {
    condition     = var.async_max_document_mb >= 1 && var.async_max_document_mb <= 1000 && floor(var.async_max_document_mb) == var.async_max_document_mb
    error_message = "async_max_document_mb must be a whole number from 1 to 1000."
  }
}

variable "async_max_pages" {
  description = "Async: most pages per document (EXPENSE_MAX_PAGES; pixel and character budgets grow with it)."
  type        = number
  default     = 500

  validation {
    condition     = var.async_max_pages >= 1 && var.async_max_pages <= 10000 && floor(var.async_max_pages) == var.async_max_pages
    error_message = "async_max_pages must be a whole number from 1 to 10000."
  }
}

variable "async_invocation_timeout_s" {
  description = "Async: seconds one document may take (EXPENSE_REQUEST_TIMEOUT; expense-cli passes it as InvocationTimeoutSeconds, at most 3600)."
  type        = number
  default     = 3600

  validation {
    condition     = var.async_invocation_timeout_s >= 60 && var.async_invocation_timeout_s <= 3600 && floor(var.async_invocation_timeout_s) == var.async_invocation_timeout_s
    error_message = "async_invocation_timeout_s must be a whole number from 60 to 3600."
  }
}

variable "async_max_concurrent_invocations" {
  description = "Async: documents one instance works on at once (MaxConcurrentInvocationsPerInstance)."
  type        = number
  default     = 4

  validation {
    condition     = var.async_max_concurrent_invocations >= 1 && var.async_max_concurrent_invocations <= 1000 && floor(var.async_max_concurrent_invocations) == var.async_max_concurrent_invocations
    error_message = "async_max_concurrent_invocations must be a whole number from 1 to 1000."
  }
}

variable "async_backlog_per_instance" {
  description = "Async: target-tracking target for ApproximateBacklogSizePerInstance (queued documents per instance)."
  type        = number
  default     = 5

  validation {
    condition     = var.async_backlog_per_instance > 0 && var.async_backlog_per_instance <= 10000
    error_message = "async_backlog_per_instance must be greater than 0 and at most 10000."
  }
}

variable "async_success_topic_arn" {
  description = "Async: optional SNS topic told of each success."
  type        = string
  default     = null

  validation {
    condition     = var.async_success_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.async_success_topic_arn))
    error_message = "async_success_topic_arn must be an SNS topic ARN."
  }
}

variable "async_error_topic_arn" {
  description = "Async: optional SNS topic told of each failure."
  type        = string
  default     = null

  validation {
    condition     = var.async_error_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.async_error_topic_arn))
    error_message = "async_error_topic_arn must be an SNS topic ARN."
  }
}

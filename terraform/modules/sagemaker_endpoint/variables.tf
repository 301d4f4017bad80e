variable "name" {
  description = "Name of the endpoint; also the prefix of its role, model, endpoint config and scaling policy."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9])*$", var.name)) && length(var.name) <= 54
    error_message = "name must be letters, digits and hyphens (not at either end), at most 54 characters (a 9-character hash is appended for models and endpoint configs)."
  }
}

variable "image_uri" {
  description = "Container image serving the model (SageMaker contract: port 8080, GET /ping, POST /invocations); model data is baked in."
  type        = string

  validation {
    condition     = can(regex("^[^\\s:/]+(:[0-9]+)?/[^\\s]+(:[\\w][\\w.-]{0,127}|@sha256:[0-9a-f]{64})$", var.image_uri))
    error_message = "image_uri must be REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST."
  }
}

variable "ecr_repository_arns" {
  description = "ARNs of the ECR repositories the execution role may pull from (the image's repository)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.ecr_repository_arns : can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", arn))])
    error_message = "Every entry of ecr_repository_arns must be an ECR repository ARN (arn:aws:ecr:REGION:ACCOUNT:repository/NAME)."
  }
}

variable "environment" {
  description = "Environment variables for the model container."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.environment) <= 100 && alltrue([for k, v in var.environment : can(regex("^[a-zA-Z_][a-zA-Z0-9_]*$", k)) && length(k) <= 1024 && length(v) <= 1024])
    error_message = "environment: at most 100 variables, names of letters, digits and underscores not starting with a digit (at most 1024 characters), values of at most 1024 characters (SageMaker's limits)."
  }
}

variable "enable_network_isolation" {
  description = "Run the container without network access (the model is baked into the image). Not applied to serverless endpoints, which do not support it."
  type        = bool
  default     = true
}

variable "serverless" {
  description = "Use a serverless endpoint (memory + max concurrency, no instances, no autoscaling) instead of real-time instances."
  type        = bool
  default     = false
}

variable "instance_type" {
  description = "Instance type of a real-time endpoint (ignored when serverless)."
  type        = string
  default     = "ml.m5.xlarge"

  validation {
    condition     = can(regex("^ml\\.[a-z0-9-]+\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must be a SageMaker instance type such as ml.m5.xlarge (it starts with \"ml.\")."
  }
}

variable "min_capacity" {
  description = "Real-time: initial and minimum number of instances."
  type        = number
  default     = 1

  validation {
    condition     = var.serverless || (var.min_capacity >= 1 && floor(var.min_capacity) == var.min_capacity)
    error_message = "min_capacity must be a whole number of at least 1 for a real-time endpoint."
  }
}

variable "max_capacity" {
  description = "Real-time: maximum number of instances autoscaling may reach (at most 100)."
  type        = number
  default     = 4

  validation {
    condition     = var.max_capacity >= var.min_capacity && var.max_capacity <= 100 && floor(var.max_capacity) == var.max_capacity
    error_message = "max_capacity must be a whole number from min_capacity to 100."
  }
}

variable "enable_autoscaling" {
  description = "Real-time: register the variant with Application Auto Scaling and attach the target-tracking policy."
  type        = bool
  default     = true
}

variable "target_invocations_per_instance" {
  description = "Target-tracking target for SageMakerVariantInvocationsPerInstance, in invocations per minute per instance (300 = 5 requests/s)."
  type        = number
  default     = 300

  validation {
    condition     = var.target_invocations_per_instance > 0 && var.target_invocations_per_instance <= 100000
    error_message = "target_invocations_per_instance must be greater than 0 and at most 100000."
  }
}

variable "scale_in_cooldown" {
  description = "Seconds after a scale-in before another scale-in may start."
  type        = number
  default     = 300

  validation {
    condition     = var.scale_in_cooldown >= 0 && var.scale_in_cooldown <= 86400 && floor(var.scale_in_cooldown) == var.scale_in_cooldown
    error_message = "scale_in_cooldown must be a whole number of seconds from 0 to 86400."
  }
}

variable "scale_out_cooldown" {
  description = "Seconds after a scale-out before another scale-out may start."
  type        = number
  default     = 300

  validation {
    condition     = var.scale_out_cooldown >= 0 && var.scale_out_cooldown <= 86400 && floor(var.scale_out_cooldown) == var.scale_out_cooldown
    error_message = "scale_out_cooldown must be a whole number of seconds from 0 to 86400."
  }
}

variable "serverless_memory_mb" {
  description = "Serverless: memory of the endpoint in MB (1024 to 6144 in steps of 1024)."
  type        = number
  default     = 4096

  validation {
    condition     = contains([1024, 2048, 3072, 4096, 5120, 6144], var.serverless_memory_mb)
    error_message = "serverless_memory_mb must be one of 1024, 2048, 3072, 4096, 5120, 6144."
  }
}

variable "serverless_max_concurrency" {
  description = "Serverless: maximum concurrent invocations (1 to 200)."
  type        = number
  default     = 5

  validation {
    condition     = var.serverless_max_concurrency >= 1 && var.serverless_max_concurrency <= 200 && floor(var.serverless_max_concurrency) == var.serverless_max_concurrency
    error_message = "serverless_max_concurrency must be a whole number from 1 to 200."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the ML storage volume (real-time); null uses the AWS-managed key."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN or null."
  }
}

variable "log_retention_days" {
  description = "Retention of the endpoint's CloudWatch log group, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "Customer-managed KMS key for the endpoint's log group; null uses CloudWatch Logs encryption."
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

variable "async_inference" {
  description = "Asynchronous inference: requests queue from S3, results land in S3, instances scale between 0 and max_capacity on the queue (not with serverless)."
  type        = bool
  default     = false

  validation {
    condition     = !(var.async_inference && var.serverless)
    error_message = "Choose one of serverless and async_inference."
  }
}

variable "async_bucket_name" {
  description = "Async: an existing bucket for inputs, outputs and failures (bring your own: its encryption, access block, TLS policy and expiry are yours); null creates one."
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
  description = "Async: days after which inputs, outputs and failures are deleted from the created bucket."
  type        = number
  default     = 30

  validation {
    condition     = var.async_expire_days >= 1 && var.async_expire_days <= 3650 && floor(var.async_expire_days) == var.async_expire_days
    error_message = "async_expire_days must be a whole number from 1 to 3650."
  }
}

variable "async_max_concurrent_invocations" {
  description = "Async: requests one instance works on at once (SageMaker's MaxConcurrentInvocationsPerInstance)."
  type        = number
  default     = 4

  validation {
    condition     = var.async_max_concurrent_invocations >= 1 && var.async_max_concurrent_invocations <= 1000 && floor(var.async_max_concurrent_invocations) == var.async_max_concurrent_invocations
    error_message = "async_max_concurrent_invocations must be a whole number from 1 to 1000."
  }
}

variable "async_backlog_per_instance" {
  description = "Async: target-tracking target for ApproximateBacklogSizePerInstance (queued requests per instance)."
  type        = number
  default     = 5

  validation {
    condition     = var.async_backlog_per_instance > 0 && var.async_backlog_per_instance <= 10000
    error_message = "async_backlog_per_instance must be greater than 0 and at most 10000."
  }
}

variable "async_success_topic_arn" {
  description = "Async: optional SNS topic told of each success (the endpoint's role may publish to it)."
  type        = string
  default     = null

  validation {
    condition     = var.async_success_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.async_success_topic_arn))
    error_message = "async_success_topic_arn must be an SNS topic ARN."
  }
}

variable "async_error_topic_arn" {
  description = "Async: optional SNS topic told of each failure (the endpoint's role may publish to it)."
  type        = string
  default     = null

  validation {
    condition     = var.async_error_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.async_error_topic_arn))
    error_message = "async_error_topic_arn must be an SNS topic ARN."
  }
}

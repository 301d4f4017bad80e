variable "name" {
  description = "Name of the ECR repository."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name)) && length(var.name) >= 2 && length(var.name) <= 256
    error_message = "name must be 2-256 characters of lowercase letters, digits, and single '.', '_', '-' or '/' separators."
  }
}

variable "immutable_tags" {
  description = "Make image tags immutable (IMMUTABLE): a tag, once pushed, can never point at another image."
  type        = bool
  default     = false
}

variable "scan_on_push" {
  description = "Scan every pushed image for known vulnerabilities (ECR basic scanning)."
  type        = bool
  default     = true
}

variable "force_delete" {
  description = "Delete the repository even when it still holds images (otherwise destroy fails while images remain)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "ARN of a customer-managed KMS key to encrypt images with; null uses AES256 (ECR-managed)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...) or null."
  }
}

variable "max_image_count" {
  description = "Lifecycle policy: keep at most this many images (older ones expire)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_image_count >= 1 && var.max_image_count <= 1000 && floor(var.max_image_count) == var.max_image_count
    error_message = "max_image_count must be a whole number from 1 to 1000."
  }
}

variable "untagged_image_expiry_days" {
  description = "Lifecycle policy: expire untagged images this many days after they were pushed."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_image_expiry_days >= 1 && floor(var.untagged_image_expiry_days) == var.untagged_image_expiry_days
    error_message = "untagged_image_expiry_days must be a whole number of at least 1."
  }
}

variable "tags" {
  description = "Tags for the repository (in addition to the provider's default_tags)."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.tags) <= 50 && alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "tags: at most 50, keys of 1-128 characters that do not start with \"aws:\" (reserved by AWS), values of at most 256 characters."
  }
}

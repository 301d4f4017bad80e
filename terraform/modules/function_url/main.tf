data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  token_mode = var.auth_mode == "token"
  log_group  = "/aws/lambda/${var.name}"
  # Built from the name so that the role's trust policy needs no reference to the function.
  function_arn         = "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:function:${var.name}"
  token_parameter_name = coalesce(var.token_parameter_name, "/${var.name}/auth-token")
  # Built from the name (not read from the resource) so that the policy is known at plan time.
  token_parameter_arn = "arn:${data.aws_partition.current.partition}:ssm:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:parameter/${trimprefix(local.token_parameter_name, "/")}"

  environment = merge(
    {
      ENDPOINT_NAME      = var.endpoint_name
      AUTH_MODE          = var.auth_mode
      MAX_BODY_BYTES     = tostring(var.max_body_bytes)
      MAX_DOCUMENT_BYTES = tostring(var.max_document_bytes)
      MAX_PAYLOAD_BYTES  = tostring(var.max_payload_bytes)
      FETCH_TIMEOUT_S    = tostring(var.fetch_timeout_s)
      # Two InvokeEndpoint attempts plus a URL fetch must fit in the function's timeout.
      INVOKE_READ_TIMEOUT_S = tostring(max(5, floor((var.timeout - var.fetch_timeout_s - 5) / 2)))
      ALLOW_HTTP_URLS       = tostring(var.allow_http_urls)
      LOG_LEVEL             = var.log_level
    },
    local.token_mode ? { TOKEN_PARAMETER = local.token_parameter_name } : {},
  )

  policy_statements = concat(
    [
      {
        Sid      = "InvokeEndpoint"
        Effect   = "Allow"
        Action   = "sagemaker:InvokeEndpoint"
        Resource = var.endpoint_arn
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.this.arn}:*"
      },
    ],
    local.token_mode ? [
      {
        Sid      = "ReadAuthToken"
        Effect   = "Allow"
        Action   = "ssm:GetParameter"
        Resource = local.token_parameter_arn
      },
    ] : [],
    # The AWS-managed aws/ssm key needs no grant; a customer-managed key does, only via SSM.
    local.token_mode && var.token_kms_key_arn != null ? [
      {
        Sid       = "DecryptAuthToken"
        Effect    = "Allow"
        Action    = "kms:Decrypt"
        Resource  = var.token_kms_key_arn
        Condition = { StringEquals = { "kms:ViaService" = "ssm.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}" } }
      },
    ] : [],
  )
}

resource "aws_iam_role" "this" {
  name        = "${var.name}-lambda"
  description = "Lambda role for ${var.name}: invokes one SageMaker endpoint and writes its own logs."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [merge(
      {
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { Service = "lambda.${data.aws_partition.current.dns_suffix}" }
      },
      # Confused-deputy protection: only Lambda acting for this function of this account.
      var.trust_source_conditions ? {
        Condition = {
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
          ArnLike      = { "aws:SourceArn" = [local.function_arn, "${local.function_arn}:*"] }
        }
      } : {},
    )]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-lambda"
  role   = aws_iam_role.this.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.policy_statements })
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Log groups are encrypted by CloudWatch Logs by default; a customer-managed key is optional via var.log_kms_key_arn.
  #checkov:skip=CKV_AWS_338:Retention is a cost/compliance choice left to var.log_retention_days (default 30 days), not a fixed one year.
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_ssm_parameter" "token" {
  #checkov:skip=CKV_AWS_337:The token is a SecureString encrypted with the AWS-managed aws/ssm key by default; a customer-managed key is optional via var.token_kms_key_arn.
  count = local.token_mode ? 1 : 0

  name        = local.token_parameter_name
  description = "Bearer token checked by the ${var.name} function URL handler."
  type        = "SecureString"
  key_id      = var.token_kms_key_arn
  # Write-only (Terraform >= 1.11): sent to SSM, never stored in state; a new version rewrites it.
  value_wo         = var.auth_token
  value_wo_version = var.auth_token_version
  tags             = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously through its function URL; a dead-letter queue only applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:Not in a VPC: the handler fetches public document URLs and calls the SageMaker runtime API; a VPC would need a NAT gateway for no gain.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (the auth token is read from SSM at runtime); AWS-managed encryption applies.
  #checkov:skip=CKV_AWS_272:The zip is built deterministically by expense-cli package and deployed by its hash; code signing needs an AWS Signer profile the user may add.
  function_name                  = var.name
  description                    = "expense: receipts to expense fields via SageMaker endpoint ${var.endpoint_name}"
  role                           = aws_iam_role.this.arn
  filename                       = var.lambda_zip
  source_code_hash               = filebase64sha256(var.lambda_zip)
  runtime                        = var.runtime
  handler                        = var.handler
  architectures                  = [var.architecture]
  timeout                        = var.timeout
  memory_size                    = var.memory_size
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = var.tracing_mode
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.this]
}

# With auth type NONE the AWS provider itself adds the resource-policy statement letting anyone
# call the URL (lambda:InvokeFunctionUrl, FunctionUrlAuthType NONE); the handler then checks the
# bearer token. In iam mode callers need lambda:InvokeFunctionUrl in their own IAM policy.
resource "aws_lambda_function_url" "this" {
  #checkov:skip=CKV_AWS_258:AWS_IAM is the default; NONE is only used in the opt-in token mode, where the handler checks a bearer token from SSM in constant time.
  function_name      = aws_lambda_function.this.function_name
  authorization_type = local.token_mode ? "NONE" : "AWS_IAM"
  invoke_mode        = "BUFFERED"

  dynamic "cors" {
    for_each = length(var.cors_allow_origins) > 0 ? [1] : []
    content {
      allow_origins     = var.cors_allow_origins
      allow_methods     = var.cors_allow_methods
      allow_headers     = var.cors_allow_headers
      expose_headers    = ["retry-after"]
      allow_credentials = false
      max_age           = var.cors_max_age
    }
  }
}

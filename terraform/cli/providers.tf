# The AWS provider for running terraform/ as a root stack. It is not part of the stack itself
# (terraform-aws-modules style: the stack and its modules never configure a provider; the examples
# and whoever calls the stack do). expense-cli copies this file next to the stack, into
# .expense/terraform/module (expense_cli/aws/_terraform.py). Tags reach every resource through
# var.tags; credentials come from the environment (profile, SSO, OIDC).
provider "aws" {
  region = var.region
}

# shellcheck shell=bash
# scripts/aws-cli.sh -- sourced by scripts/deploy, destroy, status and logs: the one `aws`
# they call, after they have set AWS_REGION (default us-east-1).
#  - Every call names that region (--region): awscli 1.x reads AWS_DEFAULT_REGION, never
#    AWS_REGION, so without it a 1.x CLI would use another region or none.
#  - VZ_AWS_ENDPOINT_URL=http://127.0.0.1:PORT sends every call to that endpoint instead of
#    AWS's (the CLI's global --endpoint-url, which every CLI version honours for every
#    service: Debian's awscli 2.9.19 ignores AWS_ENDPOINT_URL, awscli 1.x ignores it for
#    SQS).  Unset, the default, the calls go to AWS as ever.  The tests point it at a
#    local moto server (tests/deploy_moto_test.py).
aws() {
    if [ -n "${VZ_AWS_ENDPOINT_URL:-}" ]; then
        command aws --region "$AWS_REGION" --endpoint-url "$VZ_AWS_ENDPOINT_URL" "$@"
    else
        command aws --region "$AWS_REGION" "$@"
    fi
}

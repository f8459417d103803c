"""CDK tests: synthesize the stack in-process (and once through the CDK CLI) and assert on it."""

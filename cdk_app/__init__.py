"""The CDK v2 app that deploys the pipeline: one construct per concern, composed in `stack.py`."""

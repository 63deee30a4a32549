"""{{ cookiecutter.package_name }}: a FastAPI service on AWS Lambda."""

"""The parts of ``expense-cli package | build | push | plan | deploy | status | destroy``.

The commands themselves are in ``expense_cli/cli/deploy.py``; each module here does one job:

* ``options.py`` — the command-line options (typer ``Annotated`` types).
* ``progress.py`` — the terminal: spinners and apply progress bars on stderr, results on stdout.
* ``tfvars.py`` — remembered + given settings → validated settings → Terraform variables.
* ``session.py`` — an AWS session whose credentials were checked once, up front.
* ``state.py`` — reading what is deployed (Terraform outputs/state, ``.expense/config.json``).
* ``images.py`` — the model image: build context, docker build, ECR push.
* ``show.py`` — printing a deployment (function URL, auth, the ``status`` table).
"""

from expense_cli.cli import main

main()

from lsbo_cli.main import main

main()

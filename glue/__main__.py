from glue.cli import main

main()

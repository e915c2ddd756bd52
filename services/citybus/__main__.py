from citybus.cli import main

main()

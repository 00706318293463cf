from validator.cli import run

run()

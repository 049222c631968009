from rfmkit.cli import run

run()

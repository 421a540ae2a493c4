from .cli.main import main

if __name__ == "__main__":  # not when a worker started by multiprocessing imports it
    main()

"""`python -m bench` (make bench): every benchmark, one after another."""
from bench import deadlines, labels, pages

if __name__ == "__main__":
    labels.main()
    deadlines.main([])
    pages.main([])

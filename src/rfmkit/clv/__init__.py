"""Customer lifetime value: BG/NBD (purchases and P(alive)) and Gamma-Gamma (spend), fitted by
maximum likelihood. Customer side: these modules take per-customer summaries, never an engine.
"""

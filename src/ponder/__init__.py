"""ponder"""

"""placeholder"""
async def run_migration(ctx):
    ctx.results["migration"] = {"skipped": "not yet"}

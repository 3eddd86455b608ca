"""Scheduling: when issues go out, as broadcasts to a whole list or as a drip per subscriber.

Pure rules and calendar math (``now`` is a parameter, no database):

* ``calendar``     a local wall-clock time plus a zone → one UTC instant, across DST
* ``rules``        the scheduling keys of series.toml, validated
* ``drip``         when each issue of a drip is due for one subscriber; the preview simulator
* ``broadcasts``   what a tick does with one scheduled broadcast (wait, fan out, hold)

Their application to the database, and the process that runs them:

* ``tick``             one scheduler tick: broadcasts, drips, expired signups, then send
* ``drip_progress``    each subscription's progress through a drip series
* ``broadcasts_admin`` staff schedule, move, cancel and list broadcasts; the preview
* ``send_now``         send an issue to its list now, recorded as its broadcast
* ``series_schedule``  a series' scheduling settings (series.toml) and its schedule page
* ``agenda``           the calendar: broadcasts, drip counts per day, morning clashes per list
* ``coming``           what the archive says about a part before it goes out (its date or rhythm)
* ``lock``             the scheduler lock in the database (one scheduler acts at a time)
* ``journal``          the fan-out journal that survives a restored backup
* ``process``          the long-running scheduler: APScheduler as the heartbeat
"""

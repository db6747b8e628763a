"""The dataset as a whole: ``dataset`` (the home page, the VoID description, the dump) and
``health`` (/healthz, and the answer when the store is unavailable).
"""

from policykg.webapp.site.dataset import blueprint as dataset_blueprint
from policykg.webapp.site.health import blueprint as health_blueprint

blueprints = (dataset_blueprint, health_blueprint)

__all__ = ["blueprints"]

# gotriage application image: web (gunicorn), Celery worker and beat share it.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput
RUN useradd --system --home /app gotriage && mkdir -p /data && chown gotriage /data
USER gotriage
ENV GOTRIAGE_DATA_DIR=/data
EXPOSE 8000
CMD ["gunicorn", "gotriage.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

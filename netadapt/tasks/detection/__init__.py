"""Object detection on canvases of handwritten digits: a YOLOv8-style detector, its loss, decoding and mAP.

``make_task`` returns the ``netadapt.Task`` that prunes it; the modules hold one concept each: ``data``
(the canvases), ``model`` (``YoloTiny``, zoo name ``yolo_tiny``), ``boxes`` (cells, decoding, IoU), ``loss``,
``decode`` (scores, NMS), ``metrics`` (COCO mAP), ``train`` (loops) and ``task``.
"""

from netadapt.tasks.detection.decode import decode, nms
from netadapt.tasks.detection.loss import detection_loss
from netadapt.tasks.detection.metrics import mean_average_precision
from netadapt.tasks.detection.model import YoloTiny
from netadapt.tasks.detection.task import make_task
from netadapt.tasks.detection.train import evaluate_detector, train_detector

__all__ = ["YoloTiny", "decode", "detection_loss", "evaluate_detector", "make_task", "mean_average_precision",
           "nms", "train_detector"]
